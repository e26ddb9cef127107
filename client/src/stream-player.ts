import { BurnInReader } from './burn-in-reader.js';
import { LiveSocket, StreamAccessError, type StreamState, type StreamView } from './live-socket.js';
import { byTestId, queryParam, readSetting, writeSetting } from './page-elements.js';
import { loadHlsScript } from './classic-script.js';
import { JoinTimings } from './join-timings.js';
import { takeEarlyWhep } from './early-whep.js';
import { SignallingError } from './webrtc-signalling.js';
import { WhepPlayer } from './whep-player.js';
import { withPageToken } from './page-token.js';

export type PlayerMode = 'webrtc' | 'hls' | 'hls (fallback)';
export type ViewerState = 'waiting' | 'live' | 'ended' | 'refused';

/** The elements a player page lays out; `mode`, `latency` and `state` are shown only where the page has them. */
export interface StreamPlayerElements {
  video: HTMLVideoElement;
  captions: HTMLElement;
  captionsToggle: HTMLButtonElement;
  unmute: HTMLButtonElement;
  ended: HTMLElement;
  error: HTMLElement;
  mode?: HTMLElement | undefined;
  latency?: HTMLElement | undefined;
  state?: HTMLElement | undefined;
}

export interface StreamPlayerOptions {
  streamId: string;
  elements: StreamPlayerElements;
  /** Play HLS from the start (`&mode=hls`); otherwise WebRTC, falling back to HLS. */
  hlsOnly: boolean;
  /** The stream as the server described it on subscribing (its title, for the page). */
  onStream?: ((stream: StreamView) => void) | undefined;
  /** The stream ended (the player has stopped). */
  onEnded?: (() => void) | undefined;
}

interface CaptionMessage {
  streamId: string;
  /** `partial`: words the recogniser may still correct (a later message for the same id settles them); `final`: the cue never changes again. */
  cue: { id: number; text: string; lines: string[]; startS: number; endS: number; partial: boolean; final: boolean };
}

const FIRST_FRAME_TIMEOUT_MS = 6000;
const CAPTION_LOG_LIMIT = 500;
const CAPTIONS_KEY = 'livefx.captions';
/** A caption goes away this long after its last change (the speaker paused), unless a newer one replaces it. */
const CAPTION_HOLD_MS = 3000;

/**
 * Plays one stream's processed output in a <video>: WebRTC (WHEP) with HLS fallback, or HLS
 * alone; live captions drawn over the picture with an on/off toggle; the latency read from the
 * burn-in code. The watch page and the embeddable player are both this player.
 */
export class StreamPlayer {
  private readonly joinTimings = new JoinTimings();
  /** Resolves when the <video> presents its first frame, whichever way it came. */
  readonly firstFrame: Promise<void>;
  /** What the player does, for diagnostics, tests and benchmarks (pages expose it as window.livefxViewer). */
  readonly viewer = {
    framesRendered: 0,
    lastCode: null as { frameNumber: number; captureMsLow: number } | null,
    latencyMs: null as number | null,
    mode: 'webrtc' as PlayerMode,
    state: 'waiting' as ViewerState,
    /** The WebRTC connection while in webrtc mode (for getStats in diagnostics and tests). */
    peerConnection: undefined as RTCPeerConnection | undefined,
    captionsOn: true,
    /** The HLS playlist played in HLS mode, and how many subtitle renditions hls.js found in it. */
    hlsUrl: undefined as string | undefined,
    hlsSubtitleTracks: 0,
    /** Every caption shown, with the page's clock (Date.now()) when it appeared and the caption box's text then, for tests and diagnostics. */
    captionLog: [] as { id: number; text: string; atMs: number; partial: boolean; final: boolean; shown: string }[],
    /** When each step of joining happened, ms since navigation (the join-time benchmark reads them). */
    joinMs: this.joinTimings.ms,
  };
  private live: LiveSocket | undefined;
  private webrtc: WhepPlayer | undefined;
  private hls: { destroy(): void } | undefined;
  private firstFrameTimer: number | undefined;
  private reader: BurnInReader | undefined;
  private closed = false;
  private shownCaptionId = -1;
  private captionText = '';
  private captionPartial = false;
  private captionTimer: number | undefined;
  private readonly streamId: string;
  private readonly elements: StreamPlayerElements;

  /**
   * The player of a page laid out with the player's test ids (watch, embed): the stream and mode
   * from the page's URL (`?stream=`, `&mode=hls`), exposed as window.livefxViewer.
   */
  static inPage(callbacks: Pick<StreamPlayerOptions, 'onStream' | 'onEnded'> = {}): StreamPlayer {
    const optional = (testId: string): HTMLElement | undefined => document.querySelector<HTMLElement>(`[data-testid="${testId}"]`) ?? undefined;
    const player = new StreamPlayer({
      ...callbacks,
      streamId: queryParam('stream') ?? '',
      hlsOnly: queryParam('mode') === 'hls',
      elements: {
        video: byTestId<HTMLVideoElement>('player'),
        captions: byTestId('captions'),
        captionsToggle: byTestId<HTMLButtonElement>('captions-toggle'),
        unmute: byTestId<HTMLButtonElement>('unmute'),
        ended: byTestId('ended'),
        error: byTestId('error'),
        mode: optional('mode'),
        latency: optional('latency'),
        state: optional('state'),
      },
    });
    (window as unknown as { livefxViewer: StreamPlayer['viewer'] }).livefxViewer = player.viewer;
    window.addEventListener('pagehide', () => player.close());
    return player;
  }

  constructor(private readonly options: StreamPlayerOptions) {
    this.streamId = options.streamId;
    this.elements = options.elements;
    this.joinTimings.mark('scriptReady');
    this.setState('waiting');
    // The first frame the <video> presents, whichever way it came (WebRTC or HLS).
    this.firstFrame = new Promise((resolve) =>
      this.elements.video.requestVideoFrameCallback(() => {
        this.joinTimings.mark('firstFrame');
        resolve();
      }),
    );
  }

  /** Stops playing and lets go of the connections (the session on the server ends); idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    window.clearTimeout(this.firstFrameTimer);
    window.clearTimeout(this.captionTimer);
    this.reader?.stop();
    this.webrtc?.stop();
    this.hls?.destroy();
    this.live?.socket.close();
  }

  showError(message: string): void {
    this.elements.error.textContent = message;
    this.elements.error.hidden = message === '';
  }

  /**
   * Plays and connects at once: the WHEP offer goes out without waiting for the live socket (which
   * brings state, captions and the clock), so the first frame does not wait for it either. A refusal
   * or an unreachable server is shown in the page.
   */
  async start(): Promise<void> {
    if (!this.streamId) {
      this.showError('This page needs ?stream=<id>.');
      return;
    }
    const { unmute, video, captionsToggle } = this.elements;
    unmute.addEventListener('click', () => {
      video.muted = !video.muted;
      unmute.textContent = video.muted ? 'Unmute' : 'Mute';
    });
    this.setCaptionsOn(readSetting(CAPTIONS_KEY) !== 'off');
    captionsToggle.addEventListener('click', () => this.setCaptionsOn(!this.viewer.captionsOn));
    if (this.options.hlsOnly) void loadHlsScript();
    const webrtc = this.options.hlsOnly ? undefined : this.startWebRtc();
    try {
      const connected = await LiveSocket.connect(this.streamId, { onState: (state) => this.onStreamState(state), onStats: () => undefined });
      const live = (this.live = connected.live);
      this.joinTimings.mark('socketReady');
      if (this.closed || this.viewer.state === 'refused') {
        live.socket.close();
        return;
      }
      live.socket.on('caption', (message: CaptionMessage) => this.onCaption(message));
      this.options.onStream?.(connected.stream);
      const reader = (this.reader = new BurnInReader(video, () => live.serverNow(), () => {
        this.viewer.framesRendered = reader.framesRendered;
        this.viewer.lastCode = reader.lastCode;
        this.viewer.latencyMs = reader.latencyMs;
        if (this.elements.latency) this.elements.latency.textContent = reader.latencyMs === null ? '—' : `${reader.latencyMs} ms`;
      }));
      if (connected.stream.state === 'ended') {
        this.onStreamState('ended');
        return;
      }
      if (this.options.hlsOnly) this.startHls('hls');
      else this.announceHls();
      await webrtc;
      this.onStreamState(connected.stream.state);
    } catch (error) {
      if (error instanceof StreamAccessError) {
        this.refuse(error.code, error.message);
        return;
      }
      this.showError(`Could not reach the server: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** The server refused this page's token (on the socket or on WHEP): nothing plays. */
  private refuse(code: string, message: string): void {
    this.setState('refused');
    this.webrtc?.stop();
    this.webrtc = undefined;
    this.viewer.peerConnection = undefined;
    this.showError(code === 'forbidden' || code === 'unauthorized' ? 'This stream is private: open it with the viewer link you were given.' : `Not allowed: ${message}`);
  }

  private renderCaption(): void {
    this.elements.captions.textContent = this.captionText;
    this.elements.captions.dataset.partial = String(this.captionPartial);
    this.elements.captions.hidden = !this.viewer.captionsOn || this.captionText === '';
  }

  private onCaption(message: CaptionMessage): void {
    if (message.streamId !== this.streamId) return;
    const { cue } = message;
    if (cue.lines.length === 0) {
      if (cue.id !== this.shownCaptionId) return;
      this.captionText = '';
    } else {
      if (cue.id < this.shownCaptionId) return;
      this.shownCaptionId = cue.id;
      // The cue's latest version replaces what it showed before (a final corrects its partial in place).
      this.captionText = cue.lines.join('\n');
      this.captionPartial = cue.partial;
    }
    window.clearTimeout(this.captionTimer);
    this.captionTimer = window.setTimeout(() => {
      if (this.shownCaptionId !== cue.id) return;
      this.captionText = '';
      this.renderCaption();
    }, CAPTION_HOLD_MS);
    this.renderCaption();
    if (cue.lines.length === 0) return;
    // What the caption box holds now, as a viewer reads it.
    this.viewer.captionLog.push({ id: cue.id, text: cue.text, atMs: Date.now(), partial: cue.partial, final: cue.final, shown: this.elements.captions.textContent ?? '' });
    // A page may stay open for hours: keep the recent cues only (tests read far fewer).
    if (this.viewer.captionLog.length > CAPTION_LOG_LIMIT) this.viewer.captionLog.shift();
  }

  private setCaptionsOn(on: boolean): void {
    this.viewer.captionsOn = on;
    const toggle = this.elements.captionsToggle;
    toggle.textContent = on ? 'CC on' : 'CC off';
    toggle.setAttribute('aria-pressed', String(on));
    writeSetting(CAPTIONS_KEY, on ? 'on' : 'off');
    this.renderCaption();
  }

  private setMode(mode: PlayerMode): void {
    this.viewer.mode = mode;
    if (this.elements.mode) this.elements.mode.textContent = mode;
  }

  private setState(state: ViewerState): void {
    this.viewer.state = state;
    if (this.elements.state) {
      this.elements.state.textContent = state;
      this.elements.state.dataset.state = state;
    }
    this.elements.ended.hidden = state !== 'ended';
  }

  private onStreamState(state: StreamState): void {
    if (state === 'ended') {
      this.setState('ended');
      this.webrtc?.abandon();
      this.hls?.destroy();
      window.clearTimeout(this.firstFrameTimer);
      this.options.onEnded?.();
      return;
    }
    if (state === 'live' && this.viewer.state !== 'ended') {
      this.setState('live');
      this.armFirstFrameTimer();
    }
  }

  /** WebRTC that shows no frame within a few seconds of the stream being live falls back to HLS. */
  private armFirstFrameTimer(): void {
    if (this.viewer.mode !== 'webrtc' || this.firstFrameTimer !== undefined) return;
    const framesAtStart = this.viewer.framesRendered;
    this.firstFrameTimer = window.setTimeout(() => {
      if (this.viewer.mode === 'webrtc' && this.viewer.framesRendered === framesAtStart && this.viewer.state === 'live') this.fallBackToHls('no video over WebRTC');
    }, FIRST_FRAME_TIMEOUT_MS);
  }

  private fallBackToHls(reason: string): void {
    if (this.viewer.mode !== 'webrtc' || this.viewer.state === 'ended' || this.viewer.state === 'refused' || this.closed) return;
    console.warn(`livefx: falling back to HLS: ${reason}`);
    this.webrtc?.stop();
    this.webrtc = undefined;
    this.viewer.peerConnection = undefined;
    this.startHls('hls (fallback)');
  }

  private startHls(mode: PlayerMode): void {
    this.setMode(mode);
    this.announceHls();
    void Promise.all([this.hlsUrl(), loadHlsScript()]).then(([url]) => this.playHls(url));
  }

  /** Tells the server this page plays HLS (its viewer counts); again once the socket connects, when WebRTC failed before it. */
  private announceHls(): void {
    if (this.viewer.mode !== 'webrtc') void this.live?.socket.timeout(5000).emitWithAck('watching', { streamId: this.streamId, mode: 'hls' }).catch(() => undefined);
  }

  /** The low-latency playlist: ll-master.m3u8 (ll.m3u8 plus the WebVTT captions rendition) while the stream has captions, else ll.m3u8. */
  private async hlsUrl(): Promise<string> {
    const base = `/hls/${encodeURIComponent(this.streamId)}/`;
    const master = await fetch(withPageToken(`${base}ll-master.m3u8`), { method: 'HEAD' }).catch(() => undefined);
    return withPageToken(master?.ok ? `${base}ll-master.m3u8` : `${base}ll.m3u8`);
  }

  private playHls(url: string): void {
    if (this.viewer.state === 'ended' || this.closed) return;
    const video = this.elements.video;
    this.viewer.hlsUrl = url;
    if (typeof Hls !== 'undefined' && Hls.isSupported()) {
      // LL-HLS: no liveSyncDurationCount, which would override the playlist's PART-HOLD-BACK (0.75 s) with 2 segments.
      const instance = new Hls({ maxLiveSyncPlaybackRate: 1.5, lowLatencyMode: true, manifestLoadingMaxRetry: 30, manifestLoadingRetryDelay: 1000 });
      this.hls = instance;
      // The page draws the live captions itself (sooner than the HLS rendition); the text track stays loaded but hidden.
      instance.subtitleDisplay = false;
      instance.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, () => {
        this.viewer.hlsSubtitleTracks = instance.subtitleTracks.length;
      });
      instance.on(Hls.Events.ERROR, (_event, data) => {
        if (!data.fatal || this.viewer.state === 'ended') return;
        // A decode hiccup is recovered in place; anything else (the playlist 404s until the first segments exist) is retried.
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR) instance.recoverMediaError();
        else window.setTimeout(() => this.viewer.state !== 'ended' && instance.loadSource(url), 1000);
      });
      instance.attachMedia(video);
      instance.loadSource(url);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = url;
    } else {
      this.showError('This browser can play neither WebRTC nor HLS.');
    }
  }

  private async startWebRtc(): Promise<void> {
    this.setMode('webrtc');
    const webrtc = (this.webrtc = new WhepPlayer(this.elements.video, this.streamId, (reason) => this.fallBackToHls(reason), {
      onOfferSent: (atMs) => this.joinTimings.mark('offerSent', atMs),
      onAnswered: (atMs) => this.joinTimings.mark('answered', atMs),
    }, takeEarlyWhep(this.streamId)));
    // The socket may have refused the page, the stream ended or the page closed while this offer was out.
    const superseded = (): boolean => this.webrtc !== webrtc || this.closed || this.viewer.state === 'refused';
    try {
      await webrtc.start();
      if (superseded()) webrtc.stop();
      else this.viewer.peerConnection = webrtc.pc;
    } catch (error) {
      if (superseded()) return;
      if (error instanceof SignallingError && (error.status === 401 || error.status === 403)) {
        this.refuse(error.status === 401 ? 'unauthorized' : 'forbidden', error.message);
        return;
      }
      if (error instanceof SignallingError && error.status === 404) {
        this.showError('There is no such stream.');
        return;
      }
      if (error instanceof SignallingError && error.status === 409) {
        this.setState('ended');
        return;
      }
      this.fallBackToHls(error instanceof Error ? error.message : String(error));
    }
  }
}
