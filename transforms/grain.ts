import { z } from 'zod';
import type { Frame, FrameClock } from './frame.js';
import type { Transform } from './transform.js';

export const grainParams = z
  .object({
    /** Grain strength (0…1, 1 ≈ ±40 luma levels). */
    amount: z.number().min(0).max(1).default(0.3),
    /** Same seed and frame number, same grain: renders are repeatable. */
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
  })
  .strict();
export type GrainParams = z.infer<typeof grainParams>;

const TILE = 256;

/** xorshift32: small, fast and the same on every machine. */
function nextRandom(state: Uint32Array): number {
  let x = state[0]!;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state[0] = x;
  return x >>> 0;
}

/**
 * Film grain on luma: a 256×256 tile of noise made from the seed once, read at an offset derived
 * from the seed and the frame number, so every frame differs but a render can be repeated exactly.
 */
export class Grain implements Transform<GrainParams> {
  readonly name = 'grain';
  readonly params = grainParams;
  readonly heavy = false;
  private readonly noise = new Int8Array(TILE * TILE);
  private readonly state = new Uint32Array(1);
  private amount = 0.3;
  private seed = 1;
  private readonly scaled = new Int16Array(256);

  configure(params: GrainParams): void {
    this.amount = params.amount;
    this.seed = params.seed;
    this.state[0] = (params.seed * 2654435761) >>> 0 || 1;
    // Sum of two uniforms: a softer, roughly triangular distribution, like real grain.
    for (let index = 0; index < this.noise.length; index++) this.noise[index] = ((nextRandom(this.state) & 127) + (nextRandom(this.state) & 127)) / 2 - 64;
    for (let value = 0; value < 256; value++) this.scaled[value] = Math.round((((value << 24) >> 24) * 40 * params.amount) / 64);
  }

  apply(frame: Frame, clock: FrameClock): void {
    if (this.amount === 0) return;
    this.state[0] = ((this.seed + 1) * 0x9e3779b1 + clock.frameIndex * 0x85ebca6b) >>> 0 || 1;
    const offsetX = nextRandom(this.state) & (TILE - 1);
    const offsetY = nextRandom(this.state) & (TILE - 1);
    const { y, width, height } = frame;
    const noise = this.noise;
    const scaled = this.scaled;
    for (let row = 0; row < height; row++) {
      const noiseRow = ((row + offsetY) & (TILE - 1)) * TILE;
      const start = row * width;
      for (let column = 0; column < width; column++) {
        const value = y[start + column]! + scaled[noise[noiseRow + ((column + offsetX) & (TILE - 1))]! & 0xff]!;
        y[start + column] = value < 0 ? 0 : value > 255 ? 255 : value;
      }
    }
  }

  close(): void {}
}
