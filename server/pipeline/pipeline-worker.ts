// Entry of the worker thread that processes one live stream: it owns the decoder, the transform
// chain, the encoder and the HLS muxer, so pixel work never runs on the server's event loop.
import { TimingQueue } from './timing-queue.js';
import { DecoderInput } from './decoder-input.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { Chain } from '../../transforms/chain.js';
import { BurnIn } from '../../transforms/burn-in.js';
import type { ChainEntry, ChainStats } from '../../transforms/chain.js';
import type { ChainSpec } from '../../transforms/chain-spec.js';
import { createTransform } from '../../transforms/transform-factory.js';
import { resolveTransformBackend, type TransformBackend } from '../../transforms/transform-backend.js';
import { WasmKernels } from '../../transforms/wasm/wasm-kernels.js';
import { WebgpuDevice } from '../../transforms/webgpu/webgpu-device.js';
import { I420Frame, i420ByteLength } from '../../transforms/frame.js';
import { joinAvcc } from '../../core/rtp/h264-nal.js';
import { parseAvcDecoderConfig } from '../../core/media/avc-decoder-config.js';
import { FlvReader, type FlvVideoTag } from '../../core/media/flv-reader.js';
import { MatroskaLiveWriter } from '../../core/media/matroska-live-writer.js';
import { EncoderInputWriter, encoderArgs } from '../../core/media/encoder-input-writer.js';
import { FfmpegCommand } from '../../core/process/ffmpeg-command.js';
import { FrameRateCap, fitWithin } from './input-limits.js';
import { epochMs, type PipelineInput, type PipelineOutput, type PipelineSettings, type PipelineStats, type PipelineWorkerData } from './pipeline-messages.js';
import { SupervisedProcess } from '../../core/process/supervised-process.js';
import { Y4mReader } from '../../core/media/y4m-reader.js';
import { HlsCaptionWriter, LOW_LATENCY_HLS_CAPTIONS, PLAIN_HLS_CAPTIONS } from './hls-caption-writer.js';
import { Fmp4FragmentReader } from '../../core/media/fmp4-fragment-reader.js';
import { LL_HLS_FRAGMENT_S } from './low-latency-playlist.js';
import { LiveCaptioner } from './live-captioner.js';
import { LiveSignals } from './live-signals.js';
import { threadCaptionBoard } from '../../transforms/subtitles/caption-board.js';
import { createAsrEngine } from '../../transforms/subtitles/create-asr-engine.js';

const FRAME_POOL_SIZE = 4;
const STATS_INTERVAL_MS = 1000;
const SMOOTHING = 0.1;
const MIN_FORCED_KEYFRAME_GAP_MS = 500;
/** A publisher sending more than this share over LIVEFX_MAX_PUBLISH_KBPS is reported as not lowering (keyframes make short peaks). */
const BITRATE_TOLERANCE = 1.2;
/** Share of the frame interval the chain may take per processed frame before frames are skipped whole. */
const STRIDE_BUDGET = 0.8;
/** At most every 6th frame is processed (5 fps from 30): past that the decoder's input bound drops frames. */
const MAX_FRAME_STRIDE = 6;
/** Operators hear of an overload at most this often while it lasts. */
const OVERLOAD_ALERT_GAP_MS = 60_000;

class PipelineWorker {
  /** The size frames are processed at: the publisher's, or smaller to fit LIVEFX_MAX_INPUT_RESOLUTION (the decoder scales). */
  private width: number;
  private height: number;
  /** The publisher's picture size. */
  private inputWidth: number;
  private inputHeight: number;
  private readonly fpsCap: FrameRateCap;
  /** Shortest frame interval kept (LIVEFX_MAX_INPUT_FPS). */
  private readonly minFrameIntervalMs: number;
  /** The publisher's frame interval, measured. */
  private frameIntervalMs = 1000 / 30;
  private frames: I420Frame[] = [];
  private busy = new Set<Buffer>();
  private scratch!: I420Frame;
  private readonly chain = new Chain();
  /** Where the chain's kernels run (with wasm, the frames live in this thread's kernel memory); webgpu turns to wasm (or js) for good once the GPU fails. */
  private backend: TransformBackend;
  /** This thread's GPU while the chain runs on it. */
  private gpu: WebgpuDevice | undefined;
  /** Frames the chain ran on the GPU (LIVEFX_FAULT_GPU_LOSS_AFTER_FRAMES counts them). */
  private framesOnGpu = 0;
  /** The last chain spec that configured: rebuilt on the CPU kernels when the GPU fails. */
  private spec: ChainSpec | undefined;
  /** The latency probe, kept last in the chain whatever the operator's transforms are. */
  private burnIn: ChainEntry | undefined;
  private readonly decoder: SupervisedProcess;
  private readonly encoder: SupervisedProcess;
  private readonly hls: SupervisedProcess;
  /** The decoder's stdin: bounded, whole frames, a keyframe first after every (re)start and every drop. */
  private readonly decoderInput: DecoderInput;
  private decoderRestarting = false;
  private lastOverloadAlertMs = -Infinity;
  /** 1: every decoded frame is processed; n: every n-th (the chain is over its deadline even degraded). */
  private frameStride = 1;
  private strideCounter = 0;
  private decoderDropsAlerted = 0;
  /** When the stats timer last ran: a late tick means this thread was busy, so the decoder's silence proves nothing. */
  private lastTickMs = epochMs();
  private readonly encodeQueue = new TimingQueue(64);
  private y4m: Y4mReader | undefined;
  private flv: FlvReader | undefined;
  private encoderInput: EncoderInputWriter | undefined;
  private encoderOriginMs = 0;
  private keyframeRequested = false;
  private lastForcedKeyframeMs = 0;
  private readonly writeToEncoder = (bytes: Buffer): void => {
    this.encoder.current?.stdin.write(bytes);
  };
  private frameIndex = 0;
  private sps: Buffer | undefined;
  private pps: Buffer | undefined;
  private avcDecoderConfig: Buffer | undefined;
  private hlsWriter: MatroskaLiveWriter | undefined;
  private hlsOriginMs = 0;
  private lastInputCaptureMs = 0;
  private closing = false;
  /** Live captions, while the chain has a `subtitles` entry (on or off, so toggling the burn-in keeps recognition going). */
  private captioner: LiveCaptioner | undefined;
  /** The captions as a WebVTT rendition next to the HLS video (plain and LL-HLS), while the captioner runs. */
  private hlsCaptions: HlsCaptionWriter[] = [];
  private captionsWarned = false;
  /** Scene changes, motion and audio level for the recording (the highlights stage reads them instead of re-analysing). */
  private readonly signals: LiveSignals;
  private readonly statsTimer: NodeJS.Timeout;
  private counters = { framesIn: 0, framesOut: 0, dropped: 0, lastIn: 0, lastOut: 0, lastTick: epochMs(), bytesIn: 0, overFpsLimit: 0, lastOverFpsLimit: 0 };
  private stage = { decode: 0, transforms: 0, encode: 0 };

  constructor(
    private readonly settings: PipelineSettings,
    private readonly post: (message: PipelineOutput, transfer?: ArrayBuffer[]) => void,
  ) {
    this.inputWidth = settings.width;
    this.inputHeight = settings.height;
    ({ width: this.width, height: this.height } = fitWithin(settings.width, settings.height, settings.maxInput.width, settings.maxInput.height));
    this.fpsCap = new FrameRateCap(settings.maxInput.fps);
    this.minFrameIntervalMs = 1000 / settings.maxInput.fps;
    this.backend = this.chooseBackend();
    this.allocateFrames();
    this.burnIn = settings.burnIn ? { transform: new BurnIn(), enabled: true } : undefined;
    const initial = this.buildChain(settings.chain);
    if (initial.error) this.post({ type: 'chain-result', requestId: 0, error: initial.error });
    mkdirSync(settings.hlsDir, { recursive: true });
    this.signals = new LiveSignals({
      hasAudio: settings.hasAudio,
      ffmpegPath: settings.ffmpegPath,
      restartBackoffMaxMs: settings.restartBackoffMaxMs,
      onBatch: (batch) => this.post({ type: 'signals', batch }),
      onCrash: (crash) => this.post({ type: 'crash', crash }),
    });

    this.decoderInput = new DecoderInput({ codec: settings.codec, now: epochMs });
    this.decoderInput.onResume = (resume) => this.post({ type: 'decoder-resumed', resume });
    const backoff = { initialBackoffMs: 100, maxBackoffMs: settings.restartBackoffMaxMs };
    this.decoder = new SupervisedProcess({ role: 'decoder', command: settings.ffmpegPath, args: () => this.decoderArgs(), ...backoff });
    this.encoder = new SupervisedProcess({ role: 'encoder', command: settings.ffmpegPath, args: () => this.encoderArgs(), ...backoff });
    this.hls = new SupervisedProcess({ role: 'hls', command: settings.ffmpegPath, args: () => this.hlsArgs(), ...backoff });
    for (const process of [this.decoder, this.encoder, this.hls]) {
      process.on('crash', (crash) => this.post({ type: 'crash', crash }));
    }
    this.decoder.on('start', (child, restart) => {
      this.y4m = new Y4mReader(i420ByteLength(this.width, this.height), () => this.acquireFrame(), (buffer) => this.onDecoded(buffer));
      child.stdout.on('data', (chunk: Buffer) => {
        this.decoderInput.noteOutput();
        this.y4m?.push(chunk);
      });
      // A new decoder resumes only at a keyframe: the frames before it refer to pictures it never saw.
      this.decoderInput.attach(child.stdin, this.inputWidth, this.inputHeight, restart);
      this.signals.resetVideo();
      if (restart) this.post({ type: 'need-keyframe', reason: 'decoder restarted' });
    });
    this.encoder.on('start', (child) => {
      this.encodeQueue.clear();
      this.encoderInput = new EncoderInputWriter(this.width, this.height);
      this.encoderOriginMs = epochMs();
      child.stdin.write(this.encoderInput.header());
      this.flv = new FlvReader({ onVideo: (tag) => this.onEncoded(tag), onError: () => child.kill('SIGKILL') });
      child.stdout.on('data', (chunk: Buffer) => this.flv?.push(chunk));
    });
    this.hls.on('start', (child) => {
      this.hlsWriter?.close();
      this.hlsWriter = undefined;
      // The LL-HLS output: fMP4 on stdout, split here into the init segment and parts (byte copies, no media work).
      const reader = new Fmp4FragmentReader({
        onInit: (data) => this.post({ type: 'll-hls-init', data, originMs: this.hlsOriginMs }, [data]),
        onFragment: ({ bytes, durationS, independent }) => this.post({ type: 'll-hls-part', data: bytes, durationS, independent }, [bytes]),
        onError: (error) => {
          this.report('error', `LL-HLS: ${error.message}; restarting the HLS muxer`);
          child.kill('SIGKILL');
        },
      });
      child.stdout.on('data', (chunk: Buffer) => reader.push(chunk));
    });
    this.decoder.start();
    this.encoder.start();
    this.hls.start();
    this.statsTimer = setInterval(() => this.postStats(), STATS_INTERVAL_MS);
  }

  handle(message: PipelineInput): void {
    if (this.closing) return;
    if (message.type === 'video') this.onVideoInput(message);
    else if (message.type === 'audio') this.onAudioInput(message.data, message.captureMs);
    else if (message.type === 'keyframe') this.keyframeRequested = true;
    else if (message.type === 'chain') this.post({ type: 'chain-result', requestId: message.requestId, ...this.buildChain(message.spec) });
    else void this.close();
  }

  private onVideoInput(message: Extract<PipelineInput, { type: 'video' }>): void {
    this.counters.framesIn++;
    if (this.lastInputCaptureMs > 0) {
      const interval = message.captureMs - this.lastInputCaptureMs;
      if (interval > 5 && interval < 200) this.frameIntervalMs += SMOOTHING * (interval - this.frameIntervalMs);
    }
    this.lastInputCaptureMs = message.captureMs;
    this.counters.bytesIn += message.data.byteLength;
    if (message.keyframe && message.width && message.height && (message.width !== this.inputWidth || message.height !== this.inputHeight)) {
      this.resize(message.width, message.height);
    }
    const offer = this.decoderInput.offer(this.decoder.current?.stdin, Buffer.from(message.data), message.rtpTimestamp, message.captureMs, message.keyframe);
    // The decoder is behind (overload), or waits for a keyframe since: every frame up to it is skipped, so ask for it (again while none comes).
    if (offer === 'dropped' || offer === 'waiting-for-keyframe') this.counters.dropped++;
    if (this.decoderInput.keyframeRequestDue(offer)) {
      this.post({ type: 'need-keyframe', reason: offer === 'dropped' ? 'decoder behind; frames skipped until a keyframe' : 'frames still skipped until a keyframe' });
    }
  }

  /** Restarts the decoder only when it is stuck (no output at all while fed), never when it is merely slow. */
  private checkDecoder(now: number, threadWasBusy: boolean): void {
    if (this.decoderRestarting || threadWasBusy || !this.decoderInput.stuck(now)) return;
    this.decoderRestarting = true;
    this.report('warn', `the decoder wrote nothing for ${Math.round(this.decoderInput.silentMs(now) / 1000)} s while ${this.decoderInput.backlog} frames waited in it; restarting it`);
    void this.decoder.restartNow().finally(() => {
      this.decoderRestarting = false;
    });
  }

  /** Tells the operators when the stream sheds work: heavy transforms off, or frames skipped before the decoder. */
  private alertOverload(now: number, chain: ChainStats): void {
    if (now - this.lastOverloadAlertMs < OVERLOAD_ALERT_GAP_MS) return;
    const skipped = this.decoderInput.framesDropped - this.decoderDropsAlerted;
    const off = chain.heavyOff ? chain.transforms.filter((timing) => timing.enabled && this.chain.isHeavy(timing.name)).map((timing) => timing.name) : [];
    if (off.length === 0 && skipped === 0 && this.frameStride === 1) return;
    this.lastOverloadAlertMs = now;
    this.decoderDropsAlerted = this.decoderInput.framesDropped;
    const parts = [
      ...(this.frameStride > 1 ? [`every ${ordinal(this.frameStride)} frame processed: the chain takes ${Math.round(chain.averageMs)} ms for a ${Math.round(this.outputIntervalMs)} ms frame interval`] : []),
      ...(off.length > 0 ? [`heavy transforms off (${off.join(', ')}): running them every other frame still missed the ${Math.round(this.outputIntervalMs)} ms frame interval`] : []),
      ...(skipped > 0 ? [`${skipped} frames skipped before the decoder, which was behind`] : []),
    ];
    this.post({ type: 'overload', message: `stream overloaded: ${parts.join('; ')}` });
  }

  private onAudioInput(data: ArrayBuffer, captureMs: number): void {
    if (!this.settings.hasAudio) return;
    const packet = Buffer.from(data);
    this.captioner?.pushOpus(packet, captureMs);
    this.signals.pushOpus(packet, captureMs);
    if (!this.hlsWriter) return;
    const timestamp = captureMs - this.hlsOriginMs;
    if (timestamp < 0) return;
    this.hlsWriter.writeAudio(packet, timestamp);
  }

  private onDecoded(buffer: Buffer): void {
    // The decoder gives back no picture for a frame it could not decode (after loss, a P-frame without its
    // reference): such records are dropped here instead of shifting every later frame's timing.
    const { timing, unanswered } = this.decoderInput.takeDecoded();
    this.counters.dropped += unanswered;
    const frame = this.frameOwning(buffer);
    if (!timing || !frame) {
      this.counters.dropped++;
      return;
    }
    // Over LIVEFX_MAX_INPUT_FPS: decoded (later frames depend on it) but neither processed nor encoded.
    if (!this.fpsCap.passes(timing.rtpTimestamp)) {
      this.counters.overFpsLimit++;
      return;
    }
    // The chain cannot keep this rate even degraded: every n-th frame is processed, evenly, rather than
    // the worker falling behind until the decoder's input is cut (a freeze until the next keyframe).
    if (this.frameStride > 1 && this.strideCounter++ % this.frameStride !== 0) {
      this.counters.dropped++;
      return;
    }
    const decodedMs = epochMs();
    this.stage.decode += SMOOTHING * (decodedMs - timing.submittedMs - this.stage.decode);
    frame.pts = timing.rtpTimestamp;
    frame.captureMs = timing.captureMs;
    // Measured on the publisher's picture, before the operator's transforms change it.
    this.signals.measureFrame(frame.y, frame.width, frame.height, timing.captureMs);
    this.chain.apply(frame, { frameIndex: this.frameIndex++, frameIntervalMs: this.outputIntervalMs });
    if (this.gpu) this.watchGpu(this.gpu);
    const transformedMs = epochMs();
    this.stage.transforms += SMOOTHING * (transformedMs - decodedMs - this.stage.transforms);
    const encoder = this.encoder.current;
    if (!encoder || !encoder.stdin.writable || !this.encoderInput || !this.encodeQueue.push(timing.rtpTimestamp, timing.captureMs, transformedMs)) {
      this.counters.dropped++;
      return;
    }
    // Viewers' keyframe requests are answered at most twice a second, however many viewers ask.
    const forceKeyframe = this.keyframeRequested && transformedMs - this.lastForcedKeyframeMs >= MIN_FORCED_KEYFRAME_GAP_MS;
    if (forceKeyframe) {
      this.keyframeRequested = false;
      this.lastForcedKeyframeMs = transformedMs;
    }
    this.encoderInput.writeFrameHeader(timing.captureMs - this.encoderOriginMs, forceKeyframe, this.writeToEncoder);
    this.busy.add(buffer);
    encoder.stdin.write(buffer, () => this.busy.delete(buffer));
  }

  private onEncoded(tag: FlvVideoTag): void {
    if (tag.avcDecoderConfig) {
      const config = parseAvcDecoderConfig(tag.avcDecoderConfig);
      this.avcDecoderConfig = tag.avcDecoderConfig;
      this.sps = config.sps[0];
      this.pps = config.pps[0];
      return;
    }
    const timing = this.encodeQueue.shift();
    if (!timing || tag.nalUnits.length === 0) return;
    const now = epochMs();
    this.stage.encode += SMOOTHING * (now - timing.submittedMs - this.stage.encode);
    this.counters.framesOut++;
    const nalUnits = tag.keyframe && this.sps && this.pps ? [this.sps, this.pps, ...tag.nalUnits] : tag.nalUnits;
    // One AVCC copy serves HLS, the recorder's tap and LiveStream's packetizer, which reads it in place.
    const accessUnit = joinAvcc(nalUnits);
    this.writeHls(accessUnit, timing.captureMs, tag.keyframe);
    const data = accessUnit.buffer.slice(accessUnit.byteOffset, accessUnit.byteOffset + accessUnit.length);
    this.post({ type: 'encoded', data, rtpTimestamp: timing.rtpTimestamp, captureMs: timing.captureMs, keyframe: tag.keyframe }, [data]);
  }

  private writeHls(accessUnit: Buffer, captureMs: number, keyframe: boolean): void {
    const child = this.hls.current;
    if (!child || !child.stdin.writable) return;
    if (!this.hlsWriter) {
      if (!keyframe || !this.avcDecoderConfig) return;
      this.hlsOriginMs = captureMs;
      for (const writer of this.hlsCaptions) writer.setOrigin(captureMs);
      this.hlsWriter = new MatroskaLiveWriter(
        {
          video: { codec: 'H264', width: this.width, height: this.height, avcDecoderConfig: this.avcDecoderConfig },
          ...(this.settings.hasAudio ? { audio: { codec: 'opus', sampleRate: 48000, channels: 2 } } : {}),
          title: this.settings.streamId,
        },
        (bytes) => {
          if (child.stdin.writable) child.stdin.write(bytes);
        },
      );
    }
    this.hlsWriter.writeVideo(accessUnit, Math.max(0, captureMs - this.hlsOriginMs), keyframe);
  }

  private readonly report = (level: 'info' | 'warn' | 'error', message: string): void => this.post({ type: 'transform-report', level, message });

  /** Configures the spec's transforms and swaps them in at the next frame; on any error nothing changes. */
  private buildChain(spec: ChainSpec): { error?: string } {
    const entries: ChainEntry[] = [];
    try {
      spec.transforms.forEach((entry, index) => {
        try {
          entries.push({ transform: createTransform(entry, this.settings, this.report, this.backend), enabled: entry.enabled });
        } catch (error) {
          throw new Error(`transforms.${index} (${entry.name}): ${error instanceof Error ? error.message : String(error)}`);
        }
      });
    } catch (error) {
      for (const entry of entries) entry.transform.close();
      return { error: error instanceof Error ? error.message : String(error) };
    }
    this.chain.replace(this.burnIn ? [...entries, this.burnIn] : entries);
    this.spec = spec;
    this.updateCaptioner(spec);
    return {};
  }

  /**
   * After each frame on the GPU: once it has failed (device lost, a shader or validation error, no
   * answer), the chain is rebuilt on the CPU kernels for the rest of the stream and the operators are
   * told. Until the swap at the next frame, the GPU transforms leave frames as they are, so frames keep flowing.
   */
  private watchGpu(gpu: WebgpuDevice): void {
    if (++this.framesOnGpu === this.settings.gpuLossAfterFrames) gpu.destroyForFaultInjection();
    const failure = gpu.failure;
    if (!failure) return;
    this.gpu = undefined;
    const backend = WasmKernels.supported() ? 'wasm' : 'js';
    this.backend = backend;
    const rebuilt = this.spec ? this.buildChain(this.spec) : {};
    // The replaced GPU transforms are closed at the swap; their kernels' release is a no-op on a closed device.
    WebgpuDevice.closeThisThread();
    const named = backend === 'wasm' ? 'WebAssembly' : 'TypeScript';
    const message = `the GPU failed (${failure}): the transforms run on the ${named} kernels (${backend}) for the rest of the stream${rebuilt.error ? `, but the chain could not be rebuilt there: ${rebuilt.error}` : ''}`;
    this.post({ type: 'backend-fallback', backend, message });
  }

  private updateCaptioner(spec: ChainSpec): void {
    const subtitled = spec.transforms.some((entry) => entry.name === 'subtitles');
    if (subtitled && !this.settings.hasAudio && !this.captionsWarned) {
      this.captionsWarned = true;
      this.report('warn', 'subtitles: the publisher sends no audio, so there is nothing to caption');
    }
    const wanted = this.settings.hasAudio && subtitled;
    if (wanted && !this.captioner) {
      const hlsCaptions = [PLAIN_HLS_CAPTIONS, LOW_LATENCY_HLS_CAPTIONS].map((flavour) => new HlsCaptionWriter({
        dir: this.settings.hlsDir,
        segmentS: this.settings.hlsSegmentS,
        listSize: this.settings.hlsListSize,
        bandwidth: (this.settings.outputKbps + 128) * 1000,
        flavour,
      }));
      if (this.hlsWriter) for (const writer of hlsCaptions) writer.setOrigin(this.hlsOriginMs);
      this.hlsCaptions = hlsCaptions;
      this.captioner = new LiveCaptioner({
        ffmpegPath: this.settings.ffmpegPath,
        engine: createAsrEngine(
          { LIVEFX_ASR_COMMAND: this.settings.asrCommand, LIVEFX_ASR_FALLBACK: this.settings.asrFallback },
          { live: true, onFallback: ({ from, to, error }) => this.report('warn', `subtitles: ${from.name} failed for good (${error.message}); ${to.name} takes over`) },
        ),
        restartBackoffMaxMs: this.settings.restartBackoffMaxMs,
        onCue: (cue) => {
          for (const writer of hlsCaptions) writer.cue(cue);
          this.post({ type: 'caption', cue });
        },
        onWords: (words) => this.post({ type: 'transcript-words', words }),
        onGap: (atMs, reason) => this.post({ type: 'caption-gap', atMs, reason }),
        onCrash: (crash) => this.post({ type: 'crash', crash }),
        report: this.report,
        show: (lines, hideAtMs) => threadCaptionBoard.show(lines, hideAtMs),
      });
    } else if (!wanted && this.captioner) {
      void this.captioner.close();
      this.captioner = undefined;
      for (const writer of this.hlsCaptions) writer.close(true);
      this.hlsCaptions = [];
    }
  }

  private frameOwning(buffer: Buffer): I420Frame | undefined {
    for (const frame of this.frames) if (frame.buffer === buffer) return frame;
    return undefined;
  }

  private acquireFrame(): Buffer {
    for (const frame of this.frames) if (!this.busy.has(frame.buffer)) return frame.buffer;
    // Every buffer is still queued for the encoder: decode into scratch, then drop it.
    return this.scratch.buffer;
  }

  private allocateFrames(): void {
    // A webgpu chain's CPU transforms run the WebAssembly kernels, so its frames live there too.
    const kernels = this.backend === 'wasm' || (this.backend === 'webgpu' && WasmKernels.supported()) ? WasmKernels.forThisThread() : undefined;
    if (kernels) for (const frame of [...this.frames, ...(this.scratch ? [this.scratch] : [])]) kernels.releaseFrame(frame);
    const allocate = (): I420Frame => (kernels ? kernels.allocateFrame(this.width, this.height) : new I420Frame(this.width, this.height));
    this.frames = Array.from({ length: FRAME_POOL_SIZE }, allocate);
    this.scratch = allocate();
    this.busy.clear();
  }

  /**
   * LIVEFX_TRANSFORM_BACKEND; an explicit backend this machine cannot run is reported and the best CPU
   * one runs instead (wasm for a missing GPU, the TypeScript reference for a runtime without SIMD).
   */
  private chooseBackend(): TransformBackend {
    try {
      const backend = resolveTransformBackend(this.settings.transformBackend);
      if (backend === 'webgpu') {
        this.gpu = WebgpuDevice.forThisThread();
        this.report('info', `transforms run on the GPU: ${this.gpu.adapter}`);
      }
      return backend;
    } catch (error) {
      const fallback = this.settings.transformBackend === 'webgpu' && WasmKernels.supported() ? 'wasm' : 'js';
      this.report('error', `${error instanceof Error ? error.message : String(error)}; the ${fallback === 'wasm' ? 'WebAssembly' : 'TypeScript'} kernels run instead`);
      return fallback;
    }
  }

  /** The interval between processed frames: the publisher's, or longer when LIVEFX_MAX_INPUT_FPS drops some. */
  private get outputIntervalMs(): number {
    return Math.max(this.frameIntervalMs, this.minFrameIntervalMs);
  }

  private resize(width: number, height: number): void {
    this.inputWidth = width;
    this.inputHeight = height;
    ({ width: this.width, height: this.height } = fitWithin(width, height, this.settings.maxInput.width, this.settings.maxInput.height));
    this.fpsCap.reset();
    this.allocateFrames();
    void this.decoder.restartNow();
    void this.encoder.restartNow();
  }

  private decoderArgs(): string[] {
    return new FfmpegCommand()
      .global({ threads: 1 })
      .input('pipe:0', { flags: 'low_delay', probesize: 32, analyzeduration: 0, f: 'ivf' })
      .output('pipe:1', {
        f: 'yuv4mpegpipe',
        pix_fmt: 'yuv420p',
        s: `${this.width}x${this.height}`,
        fps_mode: 'passthrough',
        flush_packets: 1,
      })
      .toArgs();
  }

  private encoderArgs(): string[] {
    return encoderArgs({
      width: this.width,
      height: this.height,
      kbps: this.settings.outputKbps,
      keyframeIntervalS: this.settings.keyframeIntervalS,
      fps: Math.max(1, Math.round(1000 / this.outputIntervalMs)),
    });
  }

  private hlsArgs(): string[] {
    const dir = this.settings.hlsDir;
    const codecs = { 'c:v': 'copy', ...(this.settings.hasAudio ? { 'c:a': 'aac', 'b:a': '128k', ac: 2 } : {}) };
    return new FfmpegCommand()
      .input('pipe:0', { probesize: 65536, analyzeduration: 0, f: 'matroska' })
      .output(path.join(dir, 'index.m3u8'), {
        ...codecs,
        f: 'hls',
        hls_time: this.settings.hlsSegmentS,
        hls_list_size: this.settings.hlsListSize,
        hls_flags: 'delete_segments+independent_segments+discont_start+omit_endlist',
        hls_allow_cache: 0,
        // Segment numbers keep rising across muxer restarts, so players never see a number reused.
        start_number: Math.floor(Date.now() / 1000),
        hls_segment_filename: path.join(dir, 'segment-%d.ts'),
      })
      // LL-HLS: fragmented MP4 with a fragment at every keyframe and every LL_HLS_FRAGMENT_S (the parts).
      .output('pipe:1', {
        ...codecs,
        f: 'mp4',
        movflags: 'frag_keyframe+empty_moov+default_base_moof',
        frag_duration: Math.round(LL_HLS_FRAGMENT_S * 1_000_000),
        flush_packets: 1,
      })
      .toArgs();
  }

  private postStats(): void {
    const now = epochMs();
    const threadWasBusy = now - this.lastTickMs > 2 * STATS_INTERVAL_MS;
    this.lastTickMs = now;
    this.checkDecoder(now, threadWasBusy);
    const chainStats = this.chain.stats();
    this.frameStride = Math.min(MAX_FRAME_STRIDE, Math.max(1, Math.ceil(chainStats.averageMs / (this.outputIntervalMs * STRIDE_BUDGET))));
    this.alertOverload(now, chainStats);
    const seconds = (now - this.counters.lastTick) / 1000;
    const inputKbps = (this.counters.bytesIn * 8) / 1000 / seconds;
    const limited: PipelineStats['input']['limited'] = [];
    if (this.width !== this.inputWidth || this.height !== this.inputHeight) limited.push('resolution');
    if (this.counters.overFpsLimit > this.counters.lastOverFpsLimit) limited.push('fps');
    if (inputKbps > this.settings.maxInput.kbps * BITRATE_TOLERANCE) limited.push('bitrate');
    const stats: PipelineStats = {
      width: this.width,
      height: this.height,
      fpsIn: round((this.counters.framesIn - this.counters.lastIn) / seconds),
      fpsOut: round((this.counters.framesOut - this.counters.lastOut) / seconds),
      framesDropped: this.counters.dropped,
      stageMs: { decode: round(this.stage.decode), transforms: round(this.stage.transforms), encode: round(this.stage.encode) },
      chain: chainStats,
      restarts: { decoder: this.decoder.restarts, encoder: this.encoder.restarts, hls: this.hls.restarts },
      decoderInput: { framesDropped: this.decoderInput.framesDropped, backlog: this.decoderInput.backlog },
      processedEvery: this.frameStride,
      input: {
        width: this.inputWidth,
        height: this.inputHeight,
        fps: round((this.counters.framesIn - this.counters.lastIn) / seconds),
        kbps: Math.round(inputKbps),
        framesOverFpsLimit: this.counters.overFpsLimit,
        limited,
      },
    };
    this.counters.bytesIn = 0;
    this.counters.lastOverFpsLimit = this.counters.overFpsLimit;
    this.counters.lastIn = this.counters.framesIn;
    this.counters.lastOut = this.counters.framesOut;
    this.counters.lastTick = now;
    this.post({ type: 'stats', stats });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.statsTimer);
    this.hlsWriter?.close();
    for (const writer of this.hlsCaptions) writer.close();
    await Promise.all([this.decoder.close(), this.encoder.close(), this.hls.close(), this.captioner?.close(), this.signals.close()]);
    this.chain.close();
    // The GPU thread goes before this one: Dawn is not left to a thread torn down under it.
    WebgpuDevice.closeThisThread();
    this.post({ type: 'closed' });
  }
}

function ordinal(value: number): string {
  return `${value}${value === 2 ? 'nd' : value === 3 ? 'rd' : 'th'}`;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

if (parentPort) {
  const port = parentPort;
  const { gpuHub, ...settings } = workerData as PipelineWorkerData;
  if (gpuHub) WebgpuDevice.useHub(gpuHub);
  const worker = new PipelineWorker(settings, (message, transfer) => port.postMessage(message, transfer ?? []));
  port.on('message', (message: PipelineInput) => worker.handle(message));
}
