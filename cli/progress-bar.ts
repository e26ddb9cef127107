export interface ProgressBarOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** What is in progress: the line's first word (`render`, `transcribe`, `highlights`). */
  label: string;
  /** Units expected (frames from ffprobe, or 1 for a fraction); undefined when unknown, then only the count and rate are shown. */
  total: number | undefined;
  /** Counted units: shown as done/total with a rate per second and an ETA (render: frames, fps). Without it only the percent. */
  counted?: { unit: string; rateUnit: string };
  now?: () => number;
}

const REDRAW_MS = 100;
const PLAIN_STEP_PERCENT = 10;
/** Without a known total, a plain line this often. */
const PLAIN_UNKNOWN_TOTAL_MS = 5000;
const BAR_WIDTH = 24;

/**
 * The CLI's progress on stderr (render, transcribe, highlights): on a terminal one line redrawn in
 * place (bar, percent, counts and rate or the current stage, ETA); elsewhere (logs, CI) a plain line at
 * every 10 % and whenever the stage changes.
 */
export class ProgressBar {
  private readonly startMs: number;
  private readonly tty: boolean;
  private readonly now: () => number;
  private lastDrawMs = Number.NEGATIVE_INFINITY;
  private nextPercent = PLAIN_STEP_PERCENT;
  private lastDetail: string | undefined;
  private lineShown = false;
  private finished = false;

  constructor(private readonly options: ProgressBarOptions) {
    this.now = options.now ?? (() => performance.now());
    this.startMs = this.now();
    this.tty = options.stream.isTTY === true;
  }

  /** `detail`: the current stage, shown after the figures. */
  update(done: number, detail?: string): void {
    if (this.finished) return;
    const now = this.now();
    const newDetail = detail !== undefined && detail !== this.lastDetail;
    this.lastDetail = detail;
    if (this.tty) {
      if (!newDetail && now - this.lastDrawMs < REDRAW_MS) return;
      this.lastDrawMs = now;
      this.options.stream.write(`\r${this.describe(done, now, true, detail)}\x1b[K`);
      this.lineShown = true;
      return;
    }
    const { total } = this.options;
    if (newDetail) {
      if (total !== undefined) while (this.nextPercent <= (100 * done) / total) this.nextPercent += PLAIN_STEP_PERCENT;
    } else if (total === undefined) {
      if (now - this.lastDrawMs < PLAIN_UNKNOWN_TOTAL_MS) return;
      this.lastDrawMs = now;
    } else {
      const percent = (100 * done) / total;
      if (percent < this.nextPercent || done >= total) return;
      while (this.nextPercent <= percent) this.nextPercent += PLAIN_STEP_PERCENT;
    }
    this.options.stream.write(`${this.describe(done, now, false, detail)}\n`);
  }

  /** Draws the final state (100 %, with `summary` and the time taken) and ends the line; nothing more is drawn after it. */
  finish(done: number, summary?: string): void {
    if (this.finished) return;
    const now = this.now();
    this.finished = true;
    const line = this.describe(done, now, this.tty, undefined, summary ?? '');
    this.options.stream.write(this.tty ? `\r${line}\x1b[K\n` : `${line}\n`);
  }

  /** Ends a redrawn line so that an error message starts on its own line. */
  abandon(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.tty && this.lineShown) this.options.stream.write('\n');
  }

  private describe(done: number, now: number, bar: boolean, detail: string | undefined, summary?: string): string {
    const seconds = Math.max(1e-3, (now - this.startMs) / 1000);
    const final = summary !== undefined;
    const { counted } = this.options;
    const rate = done / seconds;
    const total = final ? (counted ? done : this.options.total) : this.options.total;
    const parts: string[] = [];
    if (total !== undefined && total > 0) {
      const share = final ? 1 : Math.min(1, done / total);
      const percent = `${Math.floor(share * 100)}`.padStart(3);
      if (bar) {
        const filled = Math.round(share * BAR_WIDTH);
        parts.push(`[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`);
      }
      parts.push(`${percent}%`);
      if (counted) parts.push(`${done}/${total} ${counted.unit}`);
    } else if (counted) {
      parts.push(`${done} ${counted.unit}`);
    }
    if (counted) parts.push(`${rate.toFixed(1)} ${counted.rateUnit}`);
    if (detail) parts.push(detail);
    if (final) parts.push(`${summary ? `${summary} ` : ''}in ${formatDuration(seconds)}`);
    else if (counted && total !== undefined && rate > 0 && done > 0) parts.push(`ETA ${formatDuration(Math.max(0, total - done) / rate)}`);
    return `${this.options.label} ${parts.join('  ')}`;
  }
}

function formatDuration(seconds: number): string {
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  const rest = whole % 60;
  return minutes > 0 ? `${minutes}:${String(rest).padStart(2, '0')}` : `${seconds < 10 ? seconds.toFixed(1) : whole}s`;
}
