import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { BlockAccumulator } from '../../core/media/block-accumulator.js';
import { MatroskaLiveWriter } from '../../core/media/matroska-live-writer.js';
import { FfmpegCommand } from '../../core/process/ffmpeg-command.js';
import { SupervisedProcess, type ProcessCrash } from '../../core/process/supervised-process.js';

export interface OpusPcmDecoderOptions {
  /** The supervised process's role in logs and crash reports (`caption-decoder`, `level-decoder`). */
  role: string;
  ffmpegPath: string;
  restartBackoffMaxMs: number;
  /** Mono PCM sample rate out. */
  sampleRate: number;
  /** Samples per chunk handed to onChunk. */
  chunkSamples: number;
  /** One chunk of mono s16 PCM (a buffer reused for every chunk: copy what you keep) and the capture time (epoch ms) of its first sample. */
  onChunk: (samples: Int16Array, startMs: number) => void;
  /** The decoder (re)started: the PCM timeline starts again with the next packet. */
  onStart?: (restart: boolean) => void;
  onCrash: (crash: ProcessCrash) => void;
}

/**
 * A publisher's Opus packets decoded to mono PCM by a supervised ffmpeg, in fixed chunks on the packets'
 * capture clock: packets go in as a live Matroska stream (timestamps from their capture times, holes
 * filled with silence by `aresample=async=1`, so sample count and clock stay in step). Crashes restart
 * it with backoff. No allocation per packet or chunk beyond what ffmpeg's pipe gives.
 */
export class OpusPcmDecoder {
  private readonly process: SupervisedProcess;
  private writer: MatroskaLiveWriter | undefined;
  /** Capture time (epoch ms) of PCM sample 0 of the running decoder. */
  private originMs: number | undefined;
  private decodedSamples = 0;
  private readonly chunk: Int16Array;
  private readonly pcm: BlockAccumulator<Uint8Array>;

  constructor(private readonly options: OpusPcmDecoderOptions) {
    this.chunk = new Int16Array(options.chunkSamples);
    this.pcm = new BlockAccumulator(new Uint8Array(this.chunk.buffer), () => this.onChunk());
    this.process = new SupervisedProcess({ role: options.role, command: options.ffmpegPath, args: () => this.args(), initialBackoffMs: 100, maxBackoffMs: options.restartBackoffMaxMs });
    this.process.on('start', (child, restart) => this.onStart(child, restart));
    this.process.on('crash', (crash) => options.onCrash(crash));
    this.process.start();
  }

  /** One Opus packet (RTP payload) captured at `captureMs` (epoch ms). */
  push(packet: Buffer, captureMs: number): void {
    const child = this.process.current;
    if (!child || !child.stdin.writable) return;
    if (!this.writer) {
      this.originMs = captureMs;
      this.writer = new MatroskaLiveWriter({ audio: { codec: 'opus', sampleRate: 48000, channels: 2 } }, (bytes) => {
        if (child.stdin.writable) child.stdin.write(bytes);
      });
    }
    const timestamp = captureMs - this.originMs!;
    if (timestamp >= 0) this.writer.writeAudio(packet, timestamp);
  }

  /** Ends the input and stops ffmpeg (SIGKILL after the grace period). */
  async close(): Promise<void> {
    this.writer?.close();
    this.writer = undefined;
    await this.process.close();
  }

  private args(): string[] {
    return new FfmpegCommand()
      .global({ threads: 1 })
      .input('pipe:0', { probesize: 32, analyzeduration: 0, f: 'matroska' })
      .output('pipe:1', { vn: true, af: 'aresample=async=1', ac: 1, ar: this.options.sampleRate, f: 's16le', flush_packets: 1 })
      .toArgs();
  }

  private onStart(child: ChildProcessWithoutNullStreams, restart: boolean): void {
    this.writer?.close();
    this.writer = undefined;
    this.originMs = undefined;
    this.decodedSamples = 0;
    this.pcm.reset();
    this.options.onStart?.(restart);
    child.stdout.on('data', (data: Buffer) => this.pcm.write(data));
  }

  private onChunk(): void {
    const startMs = this.originMs! + (this.decodedSamples * 1000) / this.options.sampleRate;
    this.decodedSamples += this.chunk.length;
    this.options.onChunk(this.chunk, startMs);
  }
}
