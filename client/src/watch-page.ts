import { BurnInReader } from './burn-in-reader.js';
import { ChatPanel } from './chat-panel.js';
import { LiveSocket, type StreamState } from './live-socket.js';
import { byTestId, queryParam } from './page-elements.js';
import { SignallingError } from './webrtc-signalling.js';
import { WhepPlayer } from './whep-player.js';

type Mode = 'webrtc' | 'hls' | 'hls (fallback)';
type ViewerState = 'waiting' | 'live' | 'ended';

const FIRST_FRAME_TIMEOUT_MS = 6000;
const streamId = queryParam('stream');
const player = byTestId<HTMLVideoElement>('player');
const modeElement = byTestId('mode');
const latencyElement = byTestId('latency');
const stateElement = byTestId('state');
const endedOverlay = byTestId('ended');
const errorElement = byTestId('error');
const unmute = byTestId<HTMLButtonElement>('unmute');

const viewer = {
  framesRendered: 0,
  lastCode: null as { frameNumber: number; captureMsLow: number } | null,
  latencyMs: null as number | null,
  mode: 'webrtc' as Mode,
  state: 'waiting' as ViewerState,
  /** The WebRTC connection while in webrtc mode (for getStats in diagnostics and tests). */
  peerConnection: undefined as RTCPeerConnection | undefined,
};
(window as unknown as { livefxViewer: typeof viewer }).livefxViewer = viewer;

let live: LiveSocket | undefined;
let webrtc: WhepPlayer | undefined;
let hls: { destroy(): void } | undefined;
let firstFrameTimer: number | undefined;
let reader: BurnInReader | undefined;
let chat: ChatPanel | undefined;

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
  const url = `/hls/${encodeURIComponent(streamId!)}/index.m3u8`;
  void live?.socket.timeout(5000).emitWithAck('watching', { streamId, mode: 'hls' }).catch(() => undefined);
  if (Hls?.isSupported()) {
    const instance = new Hls({ liveSyncDurationCount: 2, maxLiveSyncPlaybackRate: 1.5, lowLatencyMode: true, manifestLoadingMaxRetry: 30, manifestLoadingRetryDelay: 1000 });
    hls = instance;
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
  try {
    const connected = await LiveSocket.connect(streamId, { onState: onStreamState, onStats: () => undefined });
    live = connected.live;
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
    showError(`Could not reach the server: ${error instanceof Error ? error.message : String(error)}`);
  }
}

void main();
