export interface RenderProgressOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Frames expected (from ffprobe); undefined when unknown, then only frames and fps are shown. */
  total: number | undefined;
  now?: () => number;
}

const REDRAW_MS = 100;
const PLAIN_STEP_PERCENT = 10;
/** Without a known total, a plain line this often. */
const PLAIN_UNKNOWN_TOTAL_MS = 5000;
const BAR_WIDTH = 24;

/**
 * Render progress on stderr: on a terminal one line redrawn in place (bar, percent, frames, fps,
 * ETA); elsewhere (logs, CI) a plain line at every 10 %.
 */
export class RenderProgress {
  private readonly startMs: number;
  private readonly tty: boolean;
  private readonly now: () => number;
  private lastDrawMs = Number.NEGATIVE_INFINITY;
  private nextPercent = PLAIN_STEP_PERCENT;
  private lineShown = false;
  private finished = false;

  constructor(private readonly options: RenderProgressOptions) {
    this.now = options.now ?? (() => performance.now());
    this.startMs = this.now();
    this.tty = options.stream.isTTY === true;
  }

  update(done: number): void {
    if (this.finished) return;
    const now = this.now();
    if (this.tty) {
      if (now - this.lastDrawMs < REDRAW_MS) return;
      this.lastDrawMs = now;
      this.options.stream.write(`\r${this.describe(done, now, true)}\x1b[K`);
      this.lineShown = true;
      return;
    }
    const { total } = this.options;
    if (total === undefined) {
      if (now - this.lastDrawMs < PLAIN_UNKNOWN_TOTAL_MS) return;
      this.lastDrawMs = now;
    } else {
      const percent = (100 * done) / total;
      if (percent < this.nextPercent || done >= total) return;
      while (this.nextPercent <= percent) this.nextPercent += PLAIN_STEP_PERCENT;
    }
    this.options.stream.write(`${this.describe(done, now, false)}\n`);
  }

  /** Draws the final state (100 %) and ends the line; nothing more is drawn after it. */
  finish(done: number): void {
    if (this.finished) return;
    const now = this.now();
    this.finished = true;
    const line = this.describe(done, now, this.tty, true);
    this.options.stream.write(this.tty ? `\r${line}\x1b[K\n` : `${line}\n`);
  }

  /** Ends a redrawn line so that an error message starts on its own line. */
  abandon(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.tty && this.lineShown) this.options.stream.write('\n');
  }

  private describe(done: number, now: number, bar: boolean, final = false): string {
    const seconds = Math.max(1e-3, (now - this.startMs) / 1000);
    const fps = done / seconds;
    const total = final ? done : this.options.total;
    const parts: string[] = [];
    if (total !== undefined && total > 0) {
      const share = Math.min(1, done / total);
      const percent = `${Math.floor(share * 100)}`.padStart(3);
      if (bar) {
        const filled = Math.round(share * BAR_WIDTH);
        parts.push(`[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`);
      }
      parts.push(`${percent}%`, `${done}/${total} frames`);
    } else {
      parts.push(`${done} frames`);
    }
    parts.push(`${fps.toFixed(1)} fps`);
    if (final) parts.push(`in ${formatDuration(seconds)}`);
    else if (total !== undefined && fps > 0 && done > 0) parts.push(`ETA ${formatDuration(Math.max(0, total - done) / fps)}`);
    return `render ${parts.join('  ')}`;
  }
}

function formatDuration(seconds: number): string {
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  const rest = whole % 60;
  return minutes > 0 ? `${minutes}:${String(rest).padStart(2, '0')}` : `${seconds < 10 ? seconds.toFixed(1) : whole}s`;
}
