import { z } from 'zod';
import type { Frame, FrameClock } from './frame.js';
import type { Transform } from './transform.js';
import { BURN_IN_BLACK, BURN_IN_BLOCKS, BURN_IN_WHITE, burnInBlockSize, encodeBurnIn } from './burn-in-layout.js';

const burnInParams = z.object({}).strict();
type BurnInParams = z.infer<typeof burnInParams>;

/**
 * Draws the frame number and the server capture time as a row of black/white blocks (see
 * burn-in-layout.ts). Viewers read it back to prove they see processed frames and to measure latency.
 */
export class BurnIn implements Transform<BurnInParams> {
  readonly name = 'burn-in';
  readonly params = burnInParams;
  readonly heavy = false;
  private readonly bits = new Uint8Array(BURN_IN_BLOCKS);
  private readonly code = { frameNumber: 0, captureMsLow: 0 };

  configure(_params: BurnInParams): void {}

  apply(frame: Frame, clock: FrameClock): void {
    const block = burnInBlockSize(frame.width);
    const rows = Math.min(block, frame.height - (frame.height % 2));
    this.code.frameNumber = clock.frameIndex & 0xffff;
    this.code.captureMsLow = Math.floor(frame.captureMs) >>> 0;
    encodeBurnIn(this.code, this.bits);
    const { y, u, v, width } = frame;
    for (let row = 0; row < rows; row++) {
      const rowStart = row * width;
      for (let index = 0; index < BURN_IN_BLOCKS; index++) {
        const value = this.bits[index] === 1 ? BURN_IN_WHITE : BURN_IN_BLACK;
        y.fill(value, rowStart + index * block, rowStart + (index + 1) * block);
      }
    }
    const chromaWidth = Math.ceil(width / 2);
    const chromaRowEnd = (BURN_IN_BLOCKS * block) / 2;
    for (let row = 0; row < rows / 2; row++) {
      u.fill(128, row * chromaWidth, row * chromaWidth + chromaRowEnd);
      v.fill(128, row * chromaWidth, row * chromaWidth + chromaRowEnd);
    }
  }

  close(): void {}
}
