import { z } from 'zod';
import type { Frame, FrameClock } from './frame.js';
import { HalfResolution, resolutionChoice } from './half-resolution.js';
import type { Transform } from './transform.js';
import { xorshift32 } from './xorshift32.js';

export const sketchParams = z
  .object({
    /** How dark the pencil strokes get (0 = faint, 1 = heavy). */
    strength: z.number().min(0).max(1).default(0.6),
    /** Radius of the blur the strokes come from, in pixels of the frame: larger gives broader strokes. */
    blur: z.number().int().min(1).max(20).default(6),
    /** Paper texture (0 = clean white paper). */
    paper: z.number().min(0).max(1).default(0.3),
    /** The paper's pattern: the same seed gives the same sheet. */
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
    resolution: resolutionChoice,
  })
  .strict();
export type SketchParams = z.infer<typeof sketchParams>;

const PAPER_TILE = 256;
/** Fixed point of the box blur's 1/area: 255·area times 2^22/area stays in int32. */
const AREA_BITS = 22;
/** Fixed point of the dodge's reciprocal: (255 + lift)·255·2^15/lift stays in int32. */
const DODGE_BITS = 15;
/** Added to both sides of the dodge so flat dark areas read as paper, not as ink blots. */
const DODGE_LIFT = 20;
/** The dodge's largest result (a bright sample beside black): the tone table covers it, so no clamp per sample. */
const MAX_DODGED = ((255 + DODGE_LIFT) * Math.round((255 * 2 ** DODGE_BITS) / DODGE_LIFT) + (1 << (DODGE_BITS - 1))) >> DODGE_BITS;
/** Paper darkens white by at most this many levels (it scales the distance to black, so strokes barely change). */
const PAPER_DEPTH = 24;

/**
 * Pencil drawing: luma colour-dodged with its blurred inverse (which is luma / blurred luma, so
 * flat areas go white and only edges stay as strokes), a tone curve for stroke weight, and a
 * fixed paper texture from the seed; chroma goes to grey.
 */
export class Sketch implements Transform<SketchParams> {
  readonly name = 'sketch';
  readonly params = sketchParams;
  readonly heavy = false;
  readonly resolution = new HalfResolution();
  protected settings: SketchParams = sketchParams.parse({});
  /** Limited-range luma to 0…255. */
  protected readonly fullRange = new Uint8Array(256);
  protected readonly dodgeReciprocal = new Uint32Array(256);
  /** Dodged value (0…MAX_DODGED, white from 255 on) to output luma above black (0…219), through the stroke-weight curve. */
  protected readonly tone = new Uint8Array(MAX_DODGED + 1);
  /** Per paper sample, the gain (of 256) on the distance from black. */
  protected readonly paperTile = new Uint16Array(PAPER_TILE * PAPER_TILE);
  private base = new Uint8Array(0);
  private columnSums = new Int32Array(0);
  private sizedWidth = 0;
  private sizedHeight = 0;
  private paperFor = '';

  constructor() {
    for (let value = 0; value < 256; value++) {
      this.fullRange[value] = Math.min(255, Math.max(0, Math.round(((value - 16) * 255) / 219)));
      this.dodgeReciprocal[value] = Math.round((255 * 2 ** DODGE_BITS) / (value + DODGE_LIFT));
    }
    this.configure(this.settings);
  }

  configure(params: SketchParams): void {
    const paperKey = `${params.seed}/${params.paper}`;
    this.settings = params;
    this.resolution.choice = params.resolution;
    const exponent = 1 + 4 * params.strength;
    for (let value = 0; value <= MAX_DODGED; value++) this.tone[value] = Math.round(219 * Math.min(1, value / 255) ** exponent);
    if (paperKey !== this.paperFor) this.makePaper(params.seed, params.paper);
    this.paperFor = paperKey;
  }

  apply(frame: Frame, _clock: FrameClock): void {
    const { width, height } = frame;
    this.size(width, height);
    if (this.resolution.active) {
      const half = this.resolution;
      half.prepare(width, height);
      half.downscale(frame, 'luma');
      this.luma(half.y, half.width, half.height, Math.max(1, Math.round(this.settings.blur / 2)));
      half.upscale(frame, 'luma');
    } else {
      this.luma(frame.y, width, height, this.settings.blur);
    }
    frame.u.fill(128);
    frame.v.fill(128);
  }

  close(): void {}

  /** Dodges one width×height luma plane in place against its box blur of the given radius. */
  private luma(plane: Uint8Array, width: number, height: number, radius: number): void {
    const base = this.base;
    const fullRange = this.fullRange;
    const count = width * height;
    for (let index = 0; index < count; index++) base[index] = fullRange[plane[index]!]!;
    const sums = this.columnSums;
    // Column sums over rows row−radius … row+radius, edge rows repeated.
    for (let column = 0; column < width; column++) {
      let sum = (radius + 1) * base[column]!;
      for (let offset = 1; offset <= radius; offset++) sum += base[Math.min(offset, height - 1) * width + column]!;
      sums[column] = sum;
    }
    const inverseArea = Math.round(2 ** AREA_BITS / ((2 * radius + 1) * (2 * radius + 1)));
    const areaRounding = 1 << (AREA_BITS - 1);
    const dodgeRounding = 1 << (DODGE_BITS - 1);
    const reciprocal = this.dodgeReciprocal;
    const tone = this.tone;
    const paper = this.paperTile;
    const last = width - 1;
    for (let row = 0; row < height; row++) {
      const start = row * width;
      const paperRow = (row & (PAPER_TILE - 1)) * PAPER_TILE;
      let sum = (radius + 1) * sums[0]!;
      for (let offset = 1; offset <= radius; offset++) sum += sums[Math.min(offset, last)]!;
      for (let column = 0; column < width; column++) {
        const blurred = (sum * inverseArea + areaRounding) >> AREA_BITS;
        const dodged = ((base[start + column]! + DODGE_LIFT) * reciprocal[blurred]! + dodgeRounding) >> DODGE_BITS;
        plane[start + column] = 16 + ((tone[dodged]! * paper[paperRow + (column & (PAPER_TILE - 1))]!) >> 8);
        sum += sums[column + radius < last ? column + radius + 1 : last]! - sums[column > radius ? column - radius : 0]!;
      }
      // Slide the column window down one row.
      const leaving = (row > radius ? row - radius : 0) * width;
      const entering = (row + radius < height - 1 ? row + radius + 1 : height - 1) * width;
      for (let column = 0; column < width; column++) sums[column] = sums[column]! + base[entering + column]! - base[leaving + column]!;
    }
  }

  /** A sheet of fine paper grain: seeded noise, softened so it reads as fibre rather than sensor noise. */
  private makePaper(seed: number, amount: number): void {
    const state = new Uint32Array([(seed * 2654435761) >>> 0 || 1]);
    const noise = new Float32Array(PAPER_TILE * PAPER_TILE);
    for (let index = 0; index < noise.length; index++) noise[index] = (xorshift32(state) & 0xffff) / 0xffff;
    const depth = ((PAPER_DEPTH * 256) / 219) * amount;
    for (let row = 0; row < PAPER_TILE; row++) {
      for (let column = 0; column < PAPER_TILE; column++) {
        // Mostly along the row (fibres lie one way), a little across; wraps so the tile repeats seamlessly.
        let sum = 0;
        for (let offset = -3; offset <= 3; offset++) sum += noise[row * PAPER_TILE + ((column + offset) & (PAPER_TILE - 1))]!;
        sum += noise[((row + 1) & (PAPER_TILE - 1)) * PAPER_TILE + column]! + noise[((row - 1) & (PAPER_TILE - 1)) * PAPER_TILE + column]!;
        const softened = sum / 9;
        // Centred noise has mean 0.5 with spread ~0.1: scale the deviation, keep only darkening.
        this.paperTile[row * PAPER_TILE + column] = 256 - Math.round(depth * Math.min(1, Math.max(0, (softened - 0.35) / 0.3)));
      }
    }
  }

  private size(width: number, height: number): void {
    if (width === this.sizedWidth && height === this.sizedHeight) return;
    // Full-size buffers also serve the half-resolution path, so switching never allocates.
    this.base = new Uint8Array(width * height);
    this.columnSums = new Int32Array(width);
    this.sizedWidth = width;
    this.sizedHeight = height;
  }
}
