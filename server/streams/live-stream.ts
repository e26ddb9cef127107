import { randomBytes, timingSafeEqual } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { RtpHeader, RtpPacket } from 'werift';
import { maxInputSize, type LivefxConfig } from '../../core/config.js';
import { LivefxError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { LivefxMetrics } from '../metrics.js';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { ChainSpec } from '../../transforms/chain-spec.js';
import { FramePipeline, type EncodedAccessUnit } from '../pipeline/frame-pipeline.js';
import { LowLatencyPlaylist } from '../pipeline/low-latency-playlist.js';
import type { LiveCue, LiveWord } from '../pipeline/live-captioner.js';
import type { LiveSignalBatch, PipelineStats } from '../pipeline/pipeline-messages.js';
import { H264Packetizer } from '../../core/rtp/h264-packetizer.js';
import { RtpFrameAssembler, type AssembledFrame } from '../../core/rtp/rtp-frame-assembler.js';
import type { PublisherVideoCodec, SfuPublisher, SfuSubscriber, VideoRtp } from '../sfu/sfu.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import type { LiveMediaTap } from '../../core/live-tap.js';
import type { StreamState, StreamStats, StreamView, StreamVisibility } from './stream-view.js';
import { ViewerStart } from './viewer-start.js';

export type { StreamState, StreamStats, StreamView, StreamVisibility };

export type LiveStreamEvents = {
  state: [state: StreamState];
  stats: [stats: StreamStats];
  /** The transform chain changed (from any console or the HTTP API). */
  chain: [chain: ChainSpec, changedBy: string];
  /** A live caption cue was created, changed or withdrawn (`lines: []`); times in epoch ms. */
  caption: [cue: LiveCue];
  /** Words the speech engine committed, for the recording's transcript; times in epoch ms. */
  'transcript-words': [words: LiveWord[]];
  /** Captions were interrupted at `atMs` (epoch ms) by a crash; they resume by themselves. */
  'caption-gap': [atMs: number, reason: string];
  /**
   * The publisher's video stopped at `fromMs` (epoch ms) and came back `durationMs` later, within
   * LIVEFX_MEDIA_TIMEOUT_S (a network interruption): the session goes on, the gap is reported once it ends.
   */
  'media-gap': [fromMs: number, durationMs: number];
  /** One second of live signals (scene changes, motion, audio level; epoch ms), for the recording. */
  signals: [batch: LiveSignalBatch];
  /** Something the stream's operators must know now (`stream_overloaded`: the pipeline is shedding work). */
  alert: [code: string, message: string];
};

export type { LiveMediaTap };

/** The part of the configuration a stream reads (the registry passes the server's config). */
export type LiveStreamSettings = Pick<
  LivefxConfig,
  | 'LIVEFX_DATA_DIR'
  | 'LIVEFX_MAX_VIEWERS_PER_STREAM'
  | 'LIVEFX_MEDIA_TIMEOUT_S'
  | 'LIVEFX_FFMPEG'
  | 'LIVEFX_OUTPUT_KBPS'
  | 'LIVEFX_KEYFRAME_INTERVAL_S'
  | 'LIVEFX_HLS_SEGMENT_S'
  | 'LIVEFX_HLS_LIST_SIZE'
  | 'LIVEFX_BURN_IN'
  | 'LIVEFX_RESTART_BACKOFF_MAX_MS'
  | 'LIVEFX_ASR_COMMAND'
  | 'LIVEFX_ASR_FALLBACK'
  | 'LIVEFX_TRANSFORM_BACKEND'
  | 'LIVEFX_FAULT_GPU_LOSS_AFTER_FRAMES'
  | 'LIVEFX_MAX_INPUT_RESOLUTION'
  | 'LIVEFX_MAX_INPUT_FPS'
  | 'LIVEFX_MAX_PUBLISH_KBPS'
>;

export interface LiveStreamOptions {
  id: string;
  title: string;
  settings: LiveStreamSettings;
  /** Where this stream's HLS playlist and segments are written. */
  hlsDir: string;
  metrics: LivefxMetrics;
  log: Logger;
  /** False when the streamer opted out of recording (POST /v1/streams with "record": false). */
  record?: boolean;
  /** Private streams are watched only through a signed viewer link (or by their operators). */
  visibility?: StreamVisibility;
  /** The stream key; unset: a new random one. A stream taken over from a dead node keeps the key its publisher holds. */
  streamKey?: string;
}

/** Publishers get a keyframe at most this often, however many reasons there are to ask. */
const KEYFRAME_REQUEST_INTERVAL_MS = 500;
/** No video for this long is a gap (the publisher's network went away), not a slow frame. */
const MEDIA_GAP_MS = 2000;
const RTP_PAYLOAD_BYTES = 1200;

/**
 * One live stream: its publisher, the processing pipeline fed from it, and the viewers of the
 * processed output. Closing (ending) it closes all of them.
 */
export class LiveStream extends TypedEmitter<LiveStreamEvents> {
  private key: string;
  readonly createdAt = new Date();
  private currentState: StreamState = 'idle';
  private publisher: SfuPublisher | undefined;
  private publisherSessionId: string | undefined;
  private assembler: RtpFrameAssembler | undefined;
  private pipeline: FramePipeline | undefined;
  private readonly subscribers = new Map<string, SfuSubscriber>();
  /** Viewers of the processed stream not yet given their first keyframe. */
  private readonly viewerStarts = new Map<string, ViewerStart>();
  /** Viewers of the publisher's original video, forwarded without processing (operators, latency baseline). */
  private readonly originalSubscribers = new Set<string>();
  private readonly hlsViewers = new Set<string>();
  private readonly packetizer = new H264Packetizer(RTP_PAYLOAD_BYTES);
  private outputSequence = Math.floor(Math.random() * 0x10000);
  private lastKeyframeRequestMs = 0;
  private lastMediaMs = 0;
  /** Set by the watchdog while the publisher's video has stopped (a gap in progress), cleared when it resumes. */
  private mediaStalled = false;
  private framesLostReported = 0;
  private decoderDropsReported = 0;
  private readonly watchdog: NodeJS.Timeout;
  private pipelineStats: PipelineStats | undefined;
  private currentChain: ChainSpec = { transforms: [] };
  private readonly taps = new Set<LiveMediaTap>();
  private reasonEnded: string | undefined;
  private wentLiveMs: number | undefined;

  readonly id: string;
  readonly title: string;
  readonly hlsDir: string;
  /** The LL-HLS playlist and its parts, in memory (served at /hls/:id/ll.m3u8). */
  readonly lowLatencyHls: LowLatencyPlaylist;
  /** False when the streamer opted out of recording. */
  readonly record: boolean;
  readonly visibility: StreamVisibility;
  private readonly config: LiveStreamSettings;
  private readonly metrics: LivefxMetrics;
  private readonly log: Logger;

  constructor(options: LiveStreamOptions) {
    super();
    ({ id: this.id, title: this.title, hlsDir: this.hlsDir, settings: this.config, metrics: this.metrics, log: this.log } = options);
    this.record = options.record ?? true;
    this.visibility = options.visibility ?? 'public';
    this.key = options.streamKey ?? randomBytes(18).toString('base64url');
    this.lowLatencyHls = new LowLatencyPlaylist({
      segmentS: this.config.LIVEFX_HLS_SEGMENT_S,
      targetDurationS: Math.ceil(Math.max(this.config.LIVEFX_HLS_SEGMENT_S, this.config.LIVEFX_KEYFRAME_INTERVAL_S)),
      listSize: this.config.LIVEFX_HLS_LIST_SIZE,
    });
    this.listenerError = (event, error) => this.log.error({ err: error, event }, 'stream listener failed');
    this.watchdog = setInterval(() => this.checkMedia(), 1000);
  }

  get state(): StreamState {
    return this.currentState;
  }

  get publishing(): boolean {
    return this.publisher !== undefined;
  }

  get pipelineThreadId(): number | undefined {
    return this.pipeline?.threadId;
  }

  /** Epoch ms the stream went live: time 0 of the caption cues sent to viewers (as of the recording's clock). */
  get liveSinceMs(): number | undefined {
    return this.wentLiveMs;
  }

  /** Resolves once an ended stream has closed everything it owns (its pipeline has flushed what it still had). */
  get whenClosed(): Promise<void> {
    return this.closing ?? Promise.resolve();
  }

  /** Why the stream ended, once it has. */
  get endReason(): string | undefined {
    return this.reasonEnded;
  }

  /** Whether the publisher negotiated an audio track (known once it is attached). */
  get publisherHasAudio(): boolean {
    return this.publisher?.hasAudio ?? false;
  }

  /** Adds a tap that sees every compressed frame from now on; returns its removal. */
  addMediaTap(tap: LiveMediaTap): () => void {
    this.taps.add(tap);
    return () => this.taps.delete(tap);
  }

  /** Asks the publisher for a keyframe (rate-limited like every other reason). */
  requestPublisherKeyframe(reason: string): void {
    this.requestKeyframe(reason);
  }

  /** Asks the encoder for a keyframe of the processed stream (the worker rate-limits). */
  requestProcessedKeyframe(): void {
    this.pipeline?.requestKeyframe();
  }

  /** The streamer's secret: WHIP publishes with it as the bearer token. */
  get streamKey(): string {
    return this.key;
  }

  /**
   * Revokes the stream key: a new one is made (returned) and a live publisher holding the old one
   * is disconnected, which ends this live session (recording included, as when the streamer leaves).
   */
  async revokeKey(): Promise<string> {
    this.key = randomBytes(18).toString('base64url');
    if (this.publisher) await this.end('stream key revoked');
    return this.key;
  }

  keyMatches(candidate: string): boolean {
    const expected = Buffer.from(this.key);
    const given = Buffer.from(candidate);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  view(): StreamView {
    return { id: this.id, title: this.title, state: this.currentState, visibility: this.visibility, createdAt: this.createdAt.toISOString(), stats: this.stats() };
  }

  stats(): StreamStats {
    const stats = this.pipelineStats;
    return {
      width: stats?.width ?? 0,
      height: stats?.height ?? 0,
      fpsIn: stats?.fpsIn ?? 0,
      fpsOut: stats?.fpsOut ?? 0,
      framesDropped: (stats?.framesDropped ?? 0) + (this.assembler?.framesLost ?? 0),
      stageMs: stats?.stageMs ?? { decode: 0, transforms: 0, encode: 0 },
      viewers: { webrtc: this.subscribers.size, hls: this.hlsViewers.size },
      chain: stats?.chain ?? { averageMs: 0, framesOverDeadline: 0, degraded: false, transforms: [] },
      input: stats?.input ?? { width: 0, height: 0, fps: 0, kbps: 0, framesOverFpsLimit: 0, limited: [] },
      processedEvery: stats?.processedEvery ?? 1,
    };
  }

  /** The operator's transform chain (what GET /v1/streams/:id/transforms returns). */
  get chain(): ChainSpec {
    return this.currentChain;
  }

  /** Where lut3d file names of this server's chains are looked up. */
  get lutDir(): string {
    return path.join(this.config.LIVEFX_DATA_DIR, 'luts');
  }

  /** Where image overlay file names are looked up. */
  get imageDir(): string {
    return path.join(this.config.LIVEFX_DATA_DIR, 'images');
  }

  /**
   * Replaces the transform chain. With a running pipeline the worker configures it and swaps it in
   * at the next frame boundary (ChainRejectedError when it cannot, e.g. a malformed LUT file);
   * otherwise it is kept for when the pipeline starts. It survives pipeline restarts either way.
   */
  async setChain(spec: ChainSpec, changedBy: string): Promise<void> {
    if (this.currentState === 'ended') throw new Error('stream has ended');
    for (const entry of spec.transforms) {
      const folder = entry.name === 'lut3d' ? this.lutDir : entry.name === 'image' ? this.imageDir : undefined;
      if (!folder) continue;
      await access(path.join(folder, String(entry.params.file))).catch(() => {
        throw new MissingAssetError(entry.name === 'lut3d' ? 'lut_not_found' : 'image_not_found', `no ${entry.name === 'lut3d' ? 'LUT' : 'image'} file "${String(entry.params.file)}" in ${folder}`);
      });
    }
    if (this.pipeline) await this.pipeline.applyChain(spec);
    this.currentChain = spec;
    this.safeEmit('chain', spec, changedBy);
    this.log.info({ streamId: this.id, changedBy, transforms: spec.transforms.map((entry) => `${entry.name}${entry.enabled ? '' : ' (off)'}`) }, 'transform chain changed');
  }

  /** The "AI-processed" label was switched off while a stylization runs: allowed, never silent. */
  logDisclosureOff(changedBy: string): void {
    this.log.warn({ streamId: this.id, changedBy }, 'AI disclosure label switched off while a stylization is active');
  }

  /** The latest per-transform timings from the worker, for the operator console. */
  get chainStats(): PipelineStats['chain'] | undefined {
    return this.pipelineStats?.chain;
  }

  attachPublisher(publisher: SfuPublisher, sessionId: string): void {
    if (this.currentState === 'ended') throw new LivefxError('stream_ended', 'this stream has ended; create a new one');
    if (this.publisher) throw new LivefxError('already_publishing', 'this stream already has a publisher');
    this.publisher = publisher;
    this.publisherSessionId = sessionId;
    this.lastMediaMs = Date.now();
    publisher.on('video', (packet, arrivalMs) => this.onVideoRtp(packet, arrivalMs));
    publisher.on('audio', (packet, arrivalMs) => this.onAudioRtp(packet, arrivalMs));
    publisher.on('connection-state', (state) => {
      if (state === 'failed' || state === 'closed') this.end(`publisher connection ${state}`);
    });
  }

  /** True when this WHIP session is the stream's current publisher. */
  ownsPublisherSession(sessionId: string): boolean {
    return this.publisherSessionId === sessionId;
  }

  /** The publisher's video codec once media flows (what an original-stream viewer must accept). */
  get publisherCodec(): PublisherVideoCodec | undefined {
    return this.currentCodec;
  }

  private currentCodec: PublisherVideoCodec | undefined;

  addSubscriber(subscriber: SfuSubscriber, source: 'processed' | 'original' = 'processed'): void {
    this.subscribers.set(subscriber.id, subscriber);
    if (source === 'original') this.originalSubscribers.add(subscriber.id);
    this.metrics.viewers.inc({ delivery: 'webrtc' });
    // Viewers of the original need the publisher's keyframe; viewers of the processed stream the encoder's.
    const askForKeyframe = (reason: string): void => {
      if (source === 'original') this.requestKeyframe(reason);
      else this.pipeline?.requestKeyframe();
    };
    // A viewer of the processed stream starts at a keyframe asked for as its ICE connects (see ViewerStart).
    const start = source === 'processed' ? new ViewerStart((packet) => subscriber.sendVideo(packet)) : undefined;
    let keyframeAsked = false;
    if (start) {
      this.viewerStarts.set(subscriber.id, start);
      subscriber.on('ice-connected', () => {
        keyframeAsked = true;
        askForKeyframe('viewer connecting');
      });
    }
    subscriber.on('keyframe-request', () => askForKeyframe('viewer picture loss'));
    subscriber.on('connection-state', (state) => {
      this.log.debug({ streamId: this.id, subscriberId: subscriber.id, state }, 'viewer connection state');
      // The keyframe asked for as ICE connected is on its way (the encoder keeps an ask until it is met).
      if (state === 'connected' && !start?.connect() && !keyframeAsked) askForKeyframe('viewer joined');
      if (state === 'failed' || state === 'closed') void this.removeSubscriber(subscriber.id);
    });
    this.emitStats();
  }

  /** WebRTC viewers now, of the processed and the original stream. */
  get webrtcViewers(): number {
    return this.subscribers.size;
  }

  /** LIVEFX_MAX_VIEWERS_PER_STREAM. */
  get maxWebrtcViewers(): number {
    return this.config.LIVEFX_MAX_VIEWERS_PER_STREAM;
  }

  hasSubscriber(subscriberId: string): boolean {
    return this.subscribers.has(subscriberId);
  }

  async removeSubscriber(subscriberId: string): Promise<void> {
    const subscriber = this.subscribers.get(subscriberId);
    if (!subscriber) return;
    this.subscribers.delete(subscriberId);
    this.originalSubscribers.delete(subscriberId);
    this.viewerStarts.delete(subscriberId);
    this.metrics.viewers.dec({ delivery: 'webrtc' });
    await subscriber.close();
    this.emitStats();
  }

  addHlsViewer(viewerId: string): void {
    if (this.hlsViewers.has(viewerId)) return;
    this.hlsViewers.add(viewerId);
    this.metrics.viewers.inc({ delivery: 'hls' });
    this.emitStats();
  }

  removeHlsViewer(viewerId: string): void {
    if (!this.hlsViewers.delete(viewerId)) return;
    this.metrics.viewers.dec({ delivery: 'hls' });
    this.emitStats();
  }

  /** Ends the stream for good: publisher, pipeline (and its processes) and viewers are closed. */
  end(reason: string): Promise<void> {
    if (this.currentState === 'ended') return this.closing ?? Promise.resolve();
    const wasLive = this.currentState === 'live';
    this.currentState = 'ended';
    this.reasonEnded = reason;
    clearInterval(this.watchdog);
    this.log.info({ streamId: this.id, reason }, 'stream ended');
    if (wasLive) this.metrics.streamsLive.dec();
    this.safeEmit('state', 'ended');
    this.closing = this.closeAll();
    return this.closing;
  }

  private closing: Promise<void> | undefined;

  private async closeAll(): Promise<void> {
    const closes: Promise<void>[] = [];
    if (this.publisher) closes.push(this.publisher.close());
    if (this.pipeline) closes.push(this.pipeline.close());
    for (const subscriber of this.subscribers.values()) closes.push(subscriber.close());
    this.metrics.viewers.dec({ delivery: 'webrtc' }, this.subscribers.size);
    this.metrics.viewers.dec({ delivery: 'hls' }, this.hlsViewers.size);
    this.subscribers.clear();
    this.originalSubscribers.clear();
    this.hlsViewers.clear();
    this.lowLatencyHls.close();
    await Promise.allSettled(closes);
    await rm(this.hlsDir, { recursive: true, force: true });
    this.removeAllListeners();
  }

  private onVideoRtp(packet: VideoRtp, arrivalMs: number): void {
    if (this.currentState === 'ended') return;
    const now = Date.now();
    if (this.currentState === 'live' && now - this.lastMediaMs >= MEDIA_GAP_MS) this.mediaResumed(now);
    this.lastMediaMs = now;
    if (this.currentState === 'idle') {
      this.currentState = 'live';
      this.wentLiveMs = performance.timeOrigin + performance.now();
      this.metrics.streamsLive.inc();
      this.log.info({ streamId: this.id, codec: packet.codec }, 'stream is live');
      this.safeEmit('state', 'live');
    }
    this.currentCodec = packet.codec;
    if (this.originalSubscribers.size > 0) {
      const serialized = packet.serialize();
      for (const id of this.originalSubscribers) this.subscribers.get(id)?.sendVideo(serialized);
    }
    this.assembler ??= new RtpFrameAssembler(packet.codec);
    const frame = this.assembler.push(packet, arrivalMs);
    if (this.assembler.framesLost > this.framesLostReported) {
      this.metrics.framesDropped.inc({ reason: 'packet-loss' }, this.assembler.framesLost - this.framesLostReported);
      this.framesLostReported = this.assembler.framesLost;
    }
    if (this.assembler.needsKeyframe) this.requestKeyframe('waiting for a keyframe');
    if (frame) this.onVideoFrame(frame);
  }

  private onVideoFrame(frame: AssembledFrame): void {
    this.metrics.framesIn.inc();
    this.feedTaps('originalVideo', frame);
    if (!this.pipeline) {
      if (!frame.keyframe) return;
      this.startPipeline(frame);
    }
    this.pipeline!.pushVideo({
      data: frame.data,
      rtpTimestamp: frame.rtpTimestamp,
      captureMs: frame.firstPacketMs,
      keyframe: frame.keyframe,
      ...(frame.width !== undefined ? { width: frame.width } : {}),
      ...(frame.height !== undefined ? { height: frame.height } : {}),
    });
  }

  private onAudioRtp(packet: Buffer, arrivalMs: number): void {
    if (this.currentState === 'ended') return;
    for (const subscriber of this.subscribers.values()) subscriber.sendAudio(packet);
    if (packet.length <= 12) return;
    const payload = rtpPayload(packet);
    this.feedTaps('originalAudio', payload, arrivalMs);
    if (this.pipeline) this.pipeline.pushAudio(payload, arrivalMs);
  }

  /** Hands media to every tap; a tap that throws is reported and the stream goes on (no closure or array is made per frame). */
  private feedTaps<Kind extends keyof LiveMediaTap>(kind: Kind, media: Parameters<LiveMediaTap[Kind]>[0], arrivalMs?: number): void {
    for (const tap of this.taps) {
      try {
        (tap[kind] as (this: LiveMediaTap, media: unknown, arrivalMs: number | undefined) => void).call(tap, media, arrivalMs);
      } catch (error) {
        this.log.error({ err: error, streamId: this.id }, 'media tap failed');
      }
    }
  }

  private startPipeline(first: AssembledFrame): void {
    const pipeline = new FramePipeline({
      streamId: this.id,
      codec: first.codec,
      width: first.width ?? 640,
      height: first.height ?? 480,
      hasAudio: this.publisher?.hasAudio ?? false,
      ffmpegPath: this.config.LIVEFX_FFMPEG,
      outputKbps: this.config.LIVEFX_OUTPUT_KBPS,
      keyframeIntervalS: this.config.LIVEFX_KEYFRAME_INTERVAL_S,
      hlsDir: this.hlsDir,
      hlsSegmentS: this.config.LIVEFX_HLS_SEGMENT_S,
      hlsListSize: this.config.LIVEFX_HLS_LIST_SIZE,
      burnIn: this.config.LIVEFX_BURN_IN,
      restartBackoffMaxMs: this.config.LIVEFX_RESTART_BACKOFF_MAX_MS,
      chain: this.currentChain,
      lutDir: this.lutDir,
      imageDir: this.imageDir,
      asrCommand: this.config.LIVEFX_ASR_COMMAND,
      asrFallback: this.config.LIVEFX_ASR_FALLBACK,
      transformBackend: this.config.LIVEFX_TRANSFORM_BACKEND,
      gpuLossAfterFrames: this.config.LIVEFX_FAULT_GPU_LOSS_AFTER_FRAMES,
      maxInput: { ...maxInputSize(this.config), fps: this.config.LIVEFX_MAX_INPUT_FPS, kbps: this.config.LIVEFX_MAX_PUBLISH_KBPS },
    });
    this.pipeline = pipeline;
    this.log.info({ streamId: this.id, codec: first.codec, width: first.width, height: first.height, threadId: pipeline.threadId }, 'pipeline started');
    pipeline.on('encoded', (unit) => this.onEncoded(unit));
    pipeline.on('stats', (stats) => {
      this.pipelineStats = stats;
      if (stats.decoderInput.framesDropped > this.decoderDropsReported) {
        this.metrics.framesDropped.inc({ reason: 'decoder-behind' }, stats.decoderInput.framesDropped - this.decoderDropsReported);
        this.decoderDropsReported = stats.decoderInput.framesDropped;
      }
      this.metrics.stageSeconds.observe({ stage: 'decode' }, stats.stageMs.decode / 1000);
      this.metrics.stageSeconds.observe({ stage: 'transforms' }, stats.stageMs.transforms / 1000);
      this.metrics.stageSeconds.observe({ stage: 'encode' }, stats.stageMs.encode / 1000);
      this.emitStats();
    });
    pipeline.on('chain-error', (message) => this.log.error({ streamId: this.id, error: message }, 'transform chain could not be configured; running without it'));
    pipeline.on('need-keyframe', (reason) => this.requestKeyframe(reason, true));
    pipeline.on('overload', (message) => {
      this.log.warn({ streamId: this.id }, message);
      this.safeEmit('alert', 'stream_overloaded', message);
    });
    pipeline.on('backend-fallback', (backend, message) => {
      this.log.error({ streamId: this.id, backend }, message);
      this.safeEmit('alert', 'gpu_failed', message);
    });
    pipeline.on('decoder-resumed', (resume) => {
      this.metrics.decoderResumes.inc({ first_frame: resume.keyframe ? 'keyframe' : 'delta' });
      const fields = { streamId: this.id, ...resume };
      if (resume.keyframe) this.log.info(fields, 'decoder resumed at a keyframe');
      else this.log.error(fields, 'decoder was given a delta frame first; its pictures are broken until the next keyframe');
    });
    pipeline.on('transform-report', (level, message) => this.log[level]({ streamId: this.id }, message));
    pipeline.on('caption', (cue) => this.safeEmit('caption', cue));
    pipeline.on('transcript-words', (words) => this.safeEmit('transcript-words', words));
    pipeline.on('signals', (batch) => this.safeEmit('signals', batch));
    pipeline.on('ll-hls-init', (bytes, originMs) => this.lowLatencyHls.setInit(bytes, originMs));
    pipeline.on('ll-hls-part', (bytes, durationS, independent) => this.lowLatencyHls.addPart(bytes, durationS, independent));
    pipeline.on('caption-gap', (atMs, reason) => {
      this.log.warn({ streamId: this.id, reason }, 'captions interrupted');
      this.safeEmit('caption-gap', atMs, reason);
    });
    pipeline.on('crash', (crash) => {
      this.metrics.processRestarts.inc({ role: crash.role });
      this.log.warn({ streamId: this.id, ...crash }, 'pipeline process crashed; restarting');
    });
    pipeline.on('failed', (error) => {
      this.log.error({ streamId: this.id, err: error }, 'pipeline worker failed');
      void this.end('pipeline worker failed');
    });
  }

  private onEncoded(unit: EncodedAccessUnit): void {
    this.metrics.framesOut.inc();
    this.feedTaps('transformedVideo', unit);
    if (this.subscribers.size === this.originalSubscribers.size) return;
    for (const start of this.viewerStarts.values()) start.unitBegins(unit.keyframe);
    this.packetizer.packetizeAvcc(unit.data, (payload, marker) => {
      this.outputSequence = (this.outputSequence + 1) & 0xffff;
      const header = new RtpHeader({ payloadType: 96, sequenceNumber: this.outputSequence, timestamp: unit.rtpTimestamp >>> 0, marker, ssrc: 1 });
      const packet = new RtpPacket(header, payload).serialize();
      for (const [id, subscriber] of this.subscribers) {
        if (this.originalSubscribers.has(id)) continue;
        const start = this.viewerStarts.get(id);
        if (start) start.packet(packet);
        else subscriber.sendVideo(packet);
      }
    });
    for (const [id, start] of this.viewerStarts) if (start.live) this.viewerStarts.delete(id);
  }

  private requestKeyframe(reason: string, urgent = false): void {
    const now = Date.now();
    if (!this.publisher || (!urgent && now - this.lastKeyframeRequestMs < KEYFRAME_REQUEST_INTERVAL_MS)) return;
    this.lastKeyframeRequestMs = now;
    this.metrics.keyframeRequests.inc();
    this.log.debug({ streamId: this.id, reason }, 'requesting keyframe');
    this.publisher.requestKeyframe();
  }

  private emitStats(): void {
    if (this.currentState !== 'ended') this.safeEmit('stats', this.stats());
  }

  private checkMedia(): void {
    if (this.currentState !== 'live') return;
    const silentMs = Date.now() - this.lastMediaMs;
    if (silentMs > this.config.LIVEFX_MEDIA_TIMEOUT_S * 1000) {
      void this.end(`no media for ${this.config.LIVEFX_MEDIA_TIMEOUT_S} s`);
    } else if (silentMs >= MEDIA_GAP_MS && !this.mediaStalled) {
      this.mediaStalled = true;
      this.log.warn({ streamId: this.id, timeoutS: this.config.LIVEFX_MEDIA_TIMEOUT_S }, 'publisher media stopped; the stream waits for it to resume');
    }
  }

  /** Video is back after a gap: the same session goes on (pipeline, recording, viewers), and the gap is reported. */
  private mediaResumed(now: number): void {
    const durationMs = now - this.lastMediaMs;
    this.mediaStalled = false;
    this.log.info({ streamId: this.id, gapMs: durationMs }, 'publisher media resumed');
    // Epoch ms on the clock of the frames' arrival times (what the recorder's session clock uses).
    const fromMs = performance.timeOrigin + performance.now() - durationMs;
    this.safeEmit('media-gap', fromMs, durationMs);
    this.requestKeyframe('media resumed after a gap', true);
  }
}

/** The payload of a serialized RTP packet (after the fixed header, CSRCs and any extension). */
function rtpPayload(packet: Buffer): Buffer {
  const csrcCount = packet[0]! & 0x0f;
  let offset = 12 + 4 * csrcCount;
  if (packet[0]! & 0x10) offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  let end = packet.length;
  if (packet[0]! & 0x20) end -= packet[packet.length - 1]!;
  return packet.subarray(offset, Math.max(offset, end));
}

/** A chain names a LUT or image file that is not in its folder. */
export class MissingAssetError extends LivefxError {
  override name = 'MissingAssetError';
  declare readonly code: 'lut_not_found' | 'image_not_found';
  constructor(code: MissingAssetError['code'], message: string) {
    super(code, message);
  }
}
