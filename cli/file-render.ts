import type { Chain } from '../transforms/chain.js';
import { I420Frame, i420ByteLength } from '../transforms/frame.js';
import { Y4mReader } from '../core/media/y4m-reader.js';
import { CliError, InterruptedError } from './cli-errors.js';
import type { PipedProcess, ProcessExit } from '../core/process/piped-process.js';
import { ProcessRunner } from '../core/process/process-runner.js';

export interface FileRenderOptions {
  ffmpegPath: string;
  /** Arguments of the ffmpeg that decodes the input to yuv4mpegpipe on stdout. */
  decoderArgs: string[];
  /** Arguments of the ffmpeg that reads raw I420 on stdin, once the decoded size is known from the y4m header. */
  encoderArgs: (width: number, height: number) => string[];
  chain: Chain;
  frameIntervalMs: number;
  /** Aborting (Ctrl-C) stops both processes; run() then rejects with InterruptedError. */
  signal: AbortSignal;
  onFrame?: (framesDone: number) => void;
  /** Where a decoded frame lives: the chain's backend may keep its frames (the wasm kernels' memory); default a plain buffer. */
  allocateFrame?: (width: number, height: number) => I420Frame;
}

export interface FileRenderResult {
  frames: number;
  width: number;
  height: number;
  /** Time spent in the chain (prepare and apply), in ms, over all frames. */
  chainMs: number;
}

/** A decoded-frame buffer of the pool with its write-completion callback, made once so writing allocates nothing. */
interface PooledFrame {
  frame: I420Frame;
  release: (error?: Error | null) => void;
}

const INITIAL_POOL_SIZE = 4;

/**
 * Runs one file through a chain: ffmpeg decodes to y4m, every frame is prepared and transformed in
 * place in this process, and the raw I420 goes to a second ffmpeg that encodes it. Frames come
 * from a small pool; the decoder is not read while every frame is still queued for the encoder,
 * so a slow encoder holds the decoder back instead of filling memory.
 */
export class FileRender {
  private readonly runner: ProcessRunner;
  private decoder: PipedProcess | undefined;
  private encoder: PipedProcess | undefined;
  private reader: Y4mReader | undefined;
  private pool: PooledFrame[] = [];
  private free: PooledFrame[] = [];
  private ready: PooledFrame[] = [];
  private decoding: PooledFrame | undefined;
  private frameBytes = 0;
  private width = 0;
  private height = 0;
  private frames = 0;
  private chainMs = 0;
  /** Mutated per frame rather than allocated; transforms read it during prepare/apply only. */
  private readonly clock = { frameIndex: 0, frameIntervalMs: 0 };
  private failed: Error | undefined;
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(private readonly options: FileRenderOptions) {
    this.clock.frameIntervalMs = options.frameIntervalMs;
    this.runner = new ProcessRunner({ ffmpeg: options.ffmpegPath, label: 'render' });
  }

  async run(): Promise<FileRenderResult> {
    const onAbort = (): void => this.fail(new InterruptedError());
    if (this.options.signal.aborted) throw new InterruptedError();
    this.options.signal.addEventListener('abort', onAbort);
    try {
      await this.render();
      return { frames: this.frames, width: this.width, height: this.height, chainMs: this.chainMs };
    } catch (error) {
      // A terminal's Ctrl-C reaches the ffmpegs too, and one may exit before our handler runs.
      if (this.options.signal.aborted) throw new InterruptedError();
      // The first failure is the cause; what follows (EPIPE, a killed process) is its echo.
      throw this.failed ?? error;
    } finally {
      this.options.signal.removeEventListener('abort', onAbort);
      await this.close();
    }
  }

  /** Kills whatever still runs and waits until both processes are reaped. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.decoder?.close(), this.encoder?.close()]);
  }

  private async render(): Promise<void> {
    const decoder = this.runner.open({ role: 'decoder', command: this.options.ffmpegPath, args: this.options.decoderArgs, stdin: 'ignore' });
    this.decoder = decoder;
    let header: Buffer | undefined;
    for await (const data of decoder.process.stdout as AsyncIterable<Buffer>) {
      if (this.failed) break;
      let chunk = data;
      if (!this.reader) {
        header = header ? Buffer.concat([header, chunk]) : chunk;
        const newline = header.indexOf(0x0a);
        if (newline === -1) {
          if (header.length > 4096) throw new CliError('the decoder did not produce yuv4mpegpipe output');
          continue;
        }
        this.begin(header.subarray(0, newline).toString('latin1'));
        chunk = header;
      }
      // Every frame that can begin in this chunk needs a buffer that is not queued for the encoder.
      const needed = Math.ceil(chunk.length / this.frameBytes) + 1;
      while (this.pool.length < needed + 2) this.addToPool();
      await this.until(() => this.free.length >= needed);
      this.reader!.push(chunk);
      while (this.ready.length > 0) await this.transformAndWrite(this.ready.shift()!);
    }
    if (this.failed) throw this.failed;
    const decoderExit = await decoder.exited;
    if (this.failed) throw this.failed;
    if (decoderExit.code !== 0) throw failure(decoder, decoderExit);
    if (this.frames === 0 || !this.encoder) throw new CliError('ffmpeg decoded no frames from the input');
    await this.until(() => this.free.length + (this.decoding ? 1 : 0) === this.pool.length);
    this.encoder.process.stdin!.end();
    const encoderExit = await this.encoder.exited;
    if (this.failed) throw this.failed;
    if (encoderExit.code !== 0) throw failure(this.encoder, encoderExit);
  }

  /** The y4m stream header gives the decoded size (after any rotation and padding); the encoder starts with it. */
  private begin(headerLine: string): void {
    const width = Number(/ W(\d+)/.exec(headerLine)?.[1]);
    const height = Number(/ H(\d+)/.exec(headerLine)?.[1]);
    const chroma = / C(\S+)/.exec(headerLine)?.[1] ?? '420jpeg';
    if (!headerLine.startsWith('YUV4MPEG2') || !(width > 0) || !(height > 0)) throw new CliError(`the decoder wrote an unexpected y4m header: ${headerLine.slice(0, 80)}`);
    if (!chroma.startsWith('420')) throw new CliError(`the decoder wrote ${chroma} frames instead of 4:2:0`);
    this.width = width;
    this.height = height;
    this.frameBytes = i420ByteLength(width, height);
    for (let index = 0; index < INITIAL_POOL_SIZE; index++) this.addToPool();
    this.reader = new Y4mReader(
      this.frameBytes,
      () => {
        this.decoding = this.free.pop()!;
        return this.decoding.frame.buffer;
      },
      () => {
        this.ready.push(this.decoding!);
        this.decoding = undefined;
      },
    );
    const encoder = this.runner.open({ role: 'encoder', command: this.options.ffmpegPath, args: this.options.encoderArgs(width, height), stdin: 'pipe' });
    this.encoder = encoder;
    void encoder.exited.then((exit) => {
      if (exit.code !== 0 && !this.closed) this.fail(failure(encoder, exit));
    });
  }

  private addToPool(): void {
    const pooled: PooledFrame = {
      frame: this.options.allocateFrame ? this.options.allocateFrame(this.width, this.height) : new I420Frame(this.width, this.height),
      release: () => {
        this.free.push(pooled);
        this.wake?.();
      },
    };
    this.pool.push(pooled);
    this.free.push(pooled);
  }

  private async transformAndWrite(pooled: PooledFrame): Promise<void> {
    const { chain } = this.options;
    this.clock.frameIndex = this.frames;
    const start = performance.now();
    await chain.prepare(pooled.frame, this.clock);
    if (this.failed) throw this.failed;
    chain.apply(pooled.frame, this.clock);
    this.chainMs += performance.now() - start;
    this.frames++;
    this.encoder!.process.stdin!.write(pooled.frame.buffer, pooled.release);
    this.options.onFrame?.(this.frames);
  }

  private async until(condition: () => boolean): Promise<void> {
    while (!condition()) {
      if (this.failed) throw this.failed;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    if (this.failed) throw this.failed;
  }

  /** Records the first failure and stops both processes at once, which ends every wait. */
  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = error;
    void this.decoder?.close();
    void this.encoder?.close();
    this.wake?.();
  }
}

/** A failed decoder or encoder as the CLI reports it; one that could not start points at LIVEFX_FFMPEG. */
function failure(child: PipedProcess, exit: ProcessExit): CliError {
  const message = child.failureMessage(exit);
  return new CliError(child.startFailed(exit) ? `${message}; set LIVEFX_FFMPEG to the ffmpeg binary` : message);
}
