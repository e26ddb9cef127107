import { BURN_IN_BLOCKS, burnInBlockSize, captureMsDelta, decodeBurnIn, type BurnInCode } from '../../transforms/burn-in-layout.js';

const WINDOW = 30;

/**
 * Reads the burn-in code the server draws into each processed frame, for every frame the <video>
 * presents, and keeps the median latency from "server received the frame" to "shown here".
 */
export class BurnInReader {
  framesRendered = 0;
  lastCode: BurnInCode | null = null;
  latencyMs: number | null = null;
  private readonly canvas = document.createElement('canvas');
  private readonly context = this.canvas.getContext('2d', { willReadFrequently: true })!;
  private readonly luma = new Uint8Array(BURN_IN_BLOCKS);
  private readonly recent: number[] = [];
  private stopped = false;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly serverNow: () => number,
    private readonly onUpdate: () => void,
  ) {
    this.video.requestVideoFrameCallback(() => this.onFrame());
  }

  stop(): void {
    this.stopped = true;
  }

  private onFrame(): void {
    if (this.stopped) return;
    this.framesRendered++;
    const shownAt = this.serverNow();
    const width = this.video.videoWidth;
    if (width > 0) {
      const block = burnInBlockSize(width);
      if (this.canvas.width !== width || this.canvas.height !== block) {
        this.canvas.width = width;
        this.canvas.height = block;
      }
      this.context.drawImage(this.video, 0, 0, width, block, 0, 0, width, block);
      const pixels = this.context.getImageData(0, 0, width, block).data;
      const row = Math.floor(block / 2) * width * 4;
      for (let index = 0; index < BURN_IN_BLOCKS; index++) {
        const offset = row + (index * block + Math.floor(block / 2)) * 4;
        this.luma[index] = 0.299 * pixels[offset]! + 0.587 * pixels[offset + 1]! + 0.114 * pixels[offset + 2]!;
      }
      const code = decodeBurnIn(this.luma);
      if (code) {
        this.lastCode = code;
        this.recent.push(captureMsDelta(shownAt, code.captureMsLow));
        if (this.recent.length > WINDOW) this.recent.shift();
        const sorted = [...this.recent].sort((a, b) => a - b);
        this.latencyMs = Math.round(sorted[Math.floor(sorted.length / 2)]!);
      }
    }
    this.onUpdate();
    this.video.requestVideoFrameCallback(() => this.onFrame());
  }
}
