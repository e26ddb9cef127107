import { BurnInReader } from './burn-in-reader.js';
import { ChatPanel } from './chat-panel.js';
import { LiveSocket, StreamAccessError, type StreamState } from './live-socket.js';
import { byTestId, queryParam, readSetting, writeSetting } from './page-elements.js';
import { SignallingError } from './webrtc-signalling.js';
import { WhepPlayer } from './whep-player.js';
import { withPageToken } from './page-token.js';

type Mode = 'webrtc' | 'hls' | 'hls (fallback)';
type ViewerState = 'waiting' | 'live' | 'ended' | 'refused';

const FIRST_FRAME_TIMEOUT_MS = 6000;
const streamId = queryParam('stream');
const player = byTestId<HTMLVideoElement>('player');
const modeElement = byTestId('mode');
const latencyElement = byTestId('latency');
const stateElement = byTestId('state');
const endedOverlay = byTestId('ended');
const errorElement = byTestId('error');
const unmute = byTestId<HTMLButtonElement>('unmute');
const captionsBox = byTestId('captions');
const captionsToggle = byTestId<HTMLButtonElement>('captions-toggle');
const CAPTION_LOG_LIMIT = 500;
const CAPTIONS_KEY = 'livefx.captions';
/** A caption goes away this long after its last change (the speaker paused), unless a newer one replaces it. */
const CAPTION_HOLD_MS = 3000;

interface CaptionMessage {
  streamId: string;
  cue: { id: number; text: string; lines: string[]; startS: number; endS: number; final: boolean };
}

const viewer = {
  framesRendered: 0,
  lastCode: null as { frameNumber: number; captureMsLow: number } | null,
  latencyMs: null as number | null,
  mode: 'webrtc' as Mode,
  state: 'waiting' as ViewerState,
  /** The WebRTC connection while in webrtc mode (for getStats in diagnostics and tests). */
  peerConnection: undefined as RTCPeerConnection | undefined,
  captionsOn: true,
  /** The HLS playlist played in HLS mode, and how many subtitle renditions hls.js found in it. */
  hlsUrl: undefined as string | undefined,
  hlsSubtitleTracks: 0,
  /** Every caption shown, with the page's clock (Date.now()) when it appeared, for tests and diagnostics. */
  captionLog: [] as { text: string; atMs: number; final: boolean }[],
};
(window as unknown as { livefxViewer: typeof viewer }).livefxViewer = viewer;

let live: LiveSocket | undefined;
let webrtc: WhepPlayer | undefined;
let hls: { destroy(): void } | undefined;
let firstFrameTimer: number | undefined;
let reader: BurnInReader | undefined;
let chat: ChatPanel | undefined;

let shownCaptionId = -1;
let captionText = '';
let captionTimer: number | undefined;

function renderCaption(): void {
  captionsBox.textContent = captionText;
  captionsBox.hidden = !viewer.captionsOn || captionText === '';
}

function onCaption(message: CaptionMessage): void {
  if (message.streamId !== streamId) return;
  const { cue } = message;
  if (cue.lines.length === 0) {
    if (cue.id !== shownCaptionId) return;
    captionText = '';
  } else {
    if (cue.id < shownCaptionId) return;
    shownCaptionId = cue.id;
    captionText = cue.lines.join('\n');
    viewer.captionLog.push({ text: cue.text, atMs: Date.now(), final: cue.final });
    // A page may stay open for hours: keep the recent cues only (tests read far fewer).
    if (viewer.captionLog.length > CAPTION_LOG_LIMIT) viewer.captionLog.shift();
  }
  window.clearTimeout(captionTimer);
  captionTimer = window.setTimeout(() => {
    if (shownCaptionId !== cue.id) return;
    captionText = '';
    renderCaption();
  }, CAPTION_HOLD_MS);
  renderCaption();
}

function setCaptionsOn(on: boolean): void {
  viewer.captionsOn = on;
  captionsToggle.textContent = on ? 'CC on' : 'CC off';
  captionsToggle.setAttribute('aria-pressed', String(on));
  writeSetting(CAPTIONS_KEY, on ? 'on' : 'off');
  renderCaption();
}

function setMode(mode: Mode): void {
  viewer.mode = mode;
  modeElement.textContent = mode;
}

function setState(state: ViewerState): void {
  viewer.state = state;
  stateElement.textContent = state;
  stateElement.dataset.state = state;
  endedOverlay.hidden = state !== 'ended';
}

function showError(message: string): void {
  errorElement.textContent = message;
  errorElement.hidden = message === '';
}

function onStreamState(state: StreamState): void {
  if (state === 'ended') {
    setState('ended');
    chat?.streamEnded();
    webrtc?.abandon();
    hls?.destroy();
    window.clearTimeout(firstFrameTimer);
    return;
  }
  if (state === 'live' && viewer.state !== 'ended') {
    setState('live');
    armFirstFrameTimer();
  }
}

/** WebRTC that shows no frame within a few seconds of the stream being live falls back to HLS. */
function armFirstFrameTimer(): void {
  if (viewer.mode !== 'webrtc' || firstFrameTimer !== undefined) return;
  const framesAtStart = viewer.framesRendered;
  firstFrameTimer = window.setTimeout(() => {
    if (viewer.mode === 'webrtc' && viewer.framesRendered === framesAtStart && viewer.state === 'live') fallBackToHls('no video over WebRTC');
  }, FIRST_FRAME_TIMEOUT_MS);
}

function fallBackToHls(reason: string): void {
  if (viewer.mode !== 'webrtc' || viewer.state === 'ended') return;
  console.warn(`livefx: falling back to HLS: ${reason}`);
  webrtc?.stop();
  webrtc = undefined;
  viewer.peerConnection = undefined;
  startHls('hls (fallback)');
}

function startHls(mode: Mode): void {
  setMode(mode);
  void live?.socket.timeout(5000).emitWithAck('watching', { streamId, mode: 'hls' }).catch(() => undefined);
  void hlsUrl().then((url) => playHls(url));
}

/** master.m3u8 (the video plus a WebVTT captions rendition) while the stream has captions, else the plain playlist. */
async function hlsUrl(): Promise<string> {
  const base = `/hls/${encodeURIComponent(streamId!)}/`;
  const master = await fetch(withPageToken(`${base}master.m3u8`), { method: 'HEAD' }).catch(() => undefined);
  return withPageToken(master?.ok ? `${base}master.m3u8` : `${base}index.m3u8`);
}

function playHls(url: string): void {
  if (viewer.state === 'ended') return;
  viewer.hlsUrl = url;
  if (Hls?.isSupported()) {
    const instance = new Hls({ liveSyncDurationCount: 2, maxLiveSyncPlaybackRate: 1.5, lowLatencyMode: true, manifestLoadingMaxRetry: 30, manifestLoadingRetryDelay: 1000 });
    hls = instance;
    // The page draws the live captions itself (sooner than the HLS rendition); the text track stays loaded but hidden.
    instance.subtitleDisplay = false;
    instance.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, () => {
      viewer.hlsSubtitleTracks = instance.subtitleTracks.length;
    });
    instance.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal || viewer.state === 'ended') return;
      // A decode hiccup is recovered in place; anything else (the playlist 404s until the first segments exist) is retried.
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) instance.recoverMediaError();
      else window.setTimeout(() => viewer.state !== 'ended' && instance.loadSource(url), 1000);
    });
    instance.attachMedia(player);
    instance.loadSource(url);
  } else if (player.canPlayType('application/vnd.apple.mpegurl')) {
    player.src = url;
  } else {
    showError('This browser can play neither WebRTC nor HLS.');
  }
}

async function startWebRtc(): Promise<void> {
  setMode('webrtc');
  webrtc = new WhepPlayer(player, streamId!, (reason) => fallBackToHls(reason));
  try {
    await webrtc.start();
    viewer.peerConnection = webrtc.pc;
  } catch (error) {
    if (error instanceof SignallingError && error.status === 404) {
      showError('There is no such stream.');
      return;
    }
    if (error instanceof SignallingError && error.status === 409) {
      setState('ended');
      return;
    }
    fallBackToHls(error instanceof Error ? error.message : String(error));
  }
}

async function main(): Promise<void> {
  setState('waiting');
  if (!streamId) {
    showError('This page needs ?stream=<id>.');
    return;
  }
  chat = new ChatPanel(byTestId('chat'), { streamId, mode: 'viewer', floats: byTestId('reaction-floats') });
  unmute.addEventListener('click', () => {
    player.muted = !player.muted;
    unmute.textContent = player.muted ? 'Unmute' : 'Mute';
  });
  setCaptionsOn(readSetting(CAPTIONS_KEY) !== 'off');
  captionsToggle.addEventListener('click', () => setCaptionsOn(!viewer.captionsOn));
  try {
    const connected = await LiveSocket.connect(streamId, { onState: onStreamState, onStats: () => undefined });
    live = connected.live;
    live.socket.on('caption', (message: CaptionMessage) => onCaption(message));
    byTestId('title').textContent = connected.stream.title;
    reader = new BurnInReader(player, () => live!.serverNow(), () => {
      viewer.framesRendered = reader!.framesRendered;
      viewer.lastCode = reader!.lastCode;
      viewer.latencyMs = reader!.latencyMs;
      latencyElement.textContent = reader!.latencyMs === null ? '—' : `${reader!.latencyMs} ms`;
    });
    if (connected.stream.state === 'ended') {
      onStreamState('ended');
      return;
    }
    if (queryParam('mode') === 'hls') startHls('hls');
    else await startWebRtc();
    onStreamState(connected.stream.state);
  } catch (error) {
    if (error instanceof StreamAccessError) {
      setState('refused');
      showError(error.code === 'forbidden' || error.code === 'unauthorized' ? 'This stream is private: open it with the viewer link you were given.' : `Not allowed: ${error.message}`);
      return;
    }
    showError(`Could not reach the server: ${error instanceof Error ? error.message : String(error)}`);
  }
}

void main();
