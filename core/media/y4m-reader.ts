/**
 * Reads ffmpeg's yuv4mpegpipe output into caller-provided frame buffers. ffmpeg's rawvideo output
 * holds each frame back until the next one arrives (one frame interval of latency); y4m does not.
 */
export class Y4mReader {
  private state: 'header' | 'frame-line' | 'frame-data' = 'header';
  private target: Buffer | undefined;
  private filled = 0;

  /** The frame size is known from the decoder's arguments, so the stream header is skipped unread. */
  constructor(
    private readonly frameBytes: number,
    /** Supplies the buffer for the next frame (exactly frameBytes long). */
    private readonly acquire: () => Buffer,
    private readonly onFrame: (buffer: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.state === 'header') {
        const newline = chunk.indexOf(0x0a, offset);
        if (newline === -1) return;
        offset = newline + 1;
        this.state = 'frame-line';
      } else if (this.state === 'frame-line') {
        const newline = chunk.indexOf(0x0a, offset);
        if (newline === -1) return;
        offset = newline + 1;
        this.state = 'frame-data';
        this.target = this.acquire();
        this.filled = 0;
      } else {
        const take = Math.min(this.frameBytes - this.filled, chunk.length - offset);
        chunk.copy(this.target!, this.filled, offset, offset + take);
        this.filled += take;
        offset += take;
        if (this.filled === this.frameBytes) {
          this.state = 'frame-line';
          this.onFrame(this.target!);
          this.target = undefined;
        }
      }
    }
  }
}
