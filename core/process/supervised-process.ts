import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { TypedEmitter } from '../typed-emitter.js';

export interface SupervisedProcessOptions {
  /** What the process is for, in logs and metrics: 'decoder', 'encoder', 'hls'. */
  role: string;
  command: string;
  /** Called before every (re)start, so arguments can follow the current state (resolution, codec). */
  args: () => string[];
  /** First restart delay; doubles on each crash that follows quickly, up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A process that ran this long counts as healthy, and the backoff starts again from the beginning. */
  healthyAfterMs?: number;
  /** Grace period between SIGTERM and SIGKILL when stopping. */
  killTimeoutMs?: number;
}

export interface ProcessCrash {
  role: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Last lines ffmpeg wrote to stderr before it died. */
  stderrTail: string;
  restartInMs: number;
}

export type SupervisedProcessEvents = {
  /** A new child is running; wire its stdio. `restart` is false for the first start. */
  start: [child: ChildProcessWithoutNullStreams, restart: boolean];
  /** The child died without being asked to; it will be restarted after restartInMs. */
  crash: [crash: ProcessCrash];
};

const STDERR_TAIL_BYTES = 2048;

/** One external process kept alive: restarted with backoff when it dies, killed for good on close(). */
export class SupervisedProcess extends TypedEmitter<SupervisedProcessEvents> {
  private child: ChildProcessWithoutNullStreams | undefined;
  private stderrTail = '';
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private starts = 0;
  private isClosed = false;
  private exitPromise: Promise<void> = Promise.resolve();

  constructor(private readonly options: SupervisedProcessOptions) {
    super();
    this.backoffMs = options.initialBackoffMs ?? 100;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get restarts(): number {
    return Math.max(0, this.starts - 1);
  }

  get current(): ChildProcessWithoutNullStreams | undefined {
    return this.child;
  }

  start(): void {
    if (this.isClosed) throw new Error(`${this.options.role} process is closed`);
    if (this.child) return;
    this.spawnChild();
  }

  /** Kills the current child on purpose (e.g. to apply new arguments) and starts a new one at once. */
  async restartNow(): Promise<void> {
    if (this.isClosed) return;
    const child = this.child;
    if (child) {
      this.child = undefined;
      await this.kill(child);
    }
    clearTimeout(this.restartTimer);
    if (!this.isClosed) this.spawnChild();
  }

  /** Stops for good; resolves once the child has exited (SIGKILL after the grace period). */
  async close(): Promise<void> {
    if (this.isClosed) return this.exitPromise;
    this.isClosed = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    if (child) this.exitPromise = this.kill(child);
    this.removeAllListeners();
    return this.exitPromise;
  }

  private spawnChild(): void {
    const child = spawn(this.options.command, this.options.args(), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.starts++;
    this.startedAt = Date.now();
    this.stderrTail = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_BYTES);
    });
    // EPIPE on a dead child's stdin is expected; the exit handler deals with the death.
    child.stdin.on('error', () => {});
    child.on('error', (error) => {
      this.stderrTail += `\nspawn error: ${error.message}`;
    });
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    this.safeEmit('start', child, this.starts > 1);
  }

  private onExit(child: ChildProcessWithoutNullStreams, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child || this.isClosed) return;
    this.child = undefined;
    const ranMs = Date.now() - this.startedAt;
    const maxBackoff = this.options.maxBackoffMs ?? 5000;
    if (ranMs >= (this.options.healthyAfterMs ?? 10_000)) this.backoffMs = this.options.initialBackoffMs ?? 100;
    const restartInMs = this.backoffMs;
    this.backoffMs = Math.min(maxBackoff, this.backoffMs * 2);
    this.safeEmit('crash', { role: this.options.role, code, signal, stderrTail: this.stderrTail.trim(), restartInMs });
    this.restartTimer = setTimeout(() => {
      if (!this.isClosed && !this.child) this.spawnChild();
    }, restartInMs);
  }

  private kill(child: ChildProcessWithoutNullStreams): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), this.options.killTimeoutMs ?? 2000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.stdin.end();
      child.kill('SIGTERM');
    });
  }
}
