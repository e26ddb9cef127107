import { AssetLibrary } from './asset-library.js';
import { ChatPanel } from './chat-panel.js';
import { LiveSocket, StreamAccessError, type StreamStats } from './live-socket.js';
import { ModerationPanel } from './moderation-panel.js';
import { byTestId, inputLimitsNote, queryParam, renderStats } from './page-elements.js';
import { PresetPanel } from './preset-panel.js';
import { TransformCards } from './transform-cards.js';
import { WhepPlayer } from './whep-player.js';
import { authFetch, socketAuth } from './page-token.js';

const streamId = queryParam('stream');
const preview = byTestId<HTMLVideoElement>('operator-preview');
const statsElement = byTestId('operator-stats');
const stateElement = byTestId('state');
const endButton = byTestId<HTMLButtonElement>('end-stream');
const errorElement = byTestId('error');
const alertElement = byTestId('operator-alert');

function renderOperatorStats(stats: StreamStats): void {
  renderStats(statsElement, [
    ['Resolution', stats.width > 0 ? `${stats.width}×${stats.height}` : '—'],
    ['Input', inputLimitsNote(stats.input)],
    ['FPS in / out', `${stats.fpsIn} / ${stats.fpsOut}`],
    ['Frames dropped', String(stats.framesDropped)],
    ['Processed', stats.processedEvery > 1 ? `1 frame in ${stats.processedEvery} (overloaded)` : 'every frame'],
    ['Decode', `${stats.stageMs.decode.toFixed(2)} ms`],
    ['Transforms', `${stats.stageMs.transforms.toFixed(2)} ms`],
    ['Encode', `${stats.stageMs.encode.toFixed(2)} ms`],
    ['Viewers WebRTC', String(stats.viewers.webrtc)],
    ['Viewers HLS', String(stats.viewers.hls)],
  ]);
}

async function main(): Promise<void> {
  if (!streamId) {
    errorElement.textContent = 'This page needs ?stream=<id>.';
    errorElement.hidden = false;
    return;
  }
  let player: WhepPlayer | undefined;
  // One /operator connection for the cards, the presets and moderation: the server tells its own changes apart by socket id.
  const operatorSocket = io('/operator', { transports: ['websocket'], ...socketAuth() });
  // No (valid) operator token: say so once instead of retrying the handshake forever.
  operatorSocket.on('connect_error', (error: Error & { data?: { code?: string; message?: string } }) => {
    if (!error.data?.code) return;
    operatorSocket.close();
    showRefusal(error.data.message ?? error.message);
  });
  operatorSocket.on('revoked', () => showRefusal('your operator token was revoked'));
  // Alerts about this stream (disk_low, stream_overloaded, gpu_failed): the latest one stays shown, with its time.
  operatorSocket.on('alert', (alert: { code: string; message: string; at: string }) => {
    alertElement.textContent = `${new Date(alert.at).toLocaleTimeString()} ${alert.code}: ${alert.message}`;
    alertElement.hidden = false;
  });
  const moderation = new ModerationPanel(operatorSocket, streamId);
  const chat = new ChatPanel(byTestId('chat'), { streamId, mode: 'read-only', decorate: moderation.decorate });
  const setState = (state: string): void => {
    if (state === 'ended') chat.streamEnded();
    stateElement.textContent = state;
    stateElement.dataset.state = state;
    endButton.disabled = state === 'ended';
    if (state === 'ended') player?.abandon();
  };
  const cards = new TransformCards(byTestId('transform-cards'), streamId, operatorSocket, new AssetLibrary());
  const presets = new PresetPanel(operatorSocket, streamId, () => cards.currentSpec(), (chain) => cards.showChain(chain.transforms));
  const { stream } = await LiveSocket.connect(streamId, {
    onState: setState,
    onStats: (stats) => {
      renderOperatorStats(stats);
      cards.updateTimings(stats.chain);
    },
  });
  await Promise.all([cards.load(), presets.load(), moderation.load()]);
  byTestId('title').textContent = stream.title;
  setState(stream.state);
  renderOperatorStats(stream.stats);
  endButton.addEventListener('click', async () => {
    if (!confirm('End this stream for everyone?')) return;
    const response = await authFetch(`/v1/streams/${encodeURIComponent(streamId)}`, { method: 'DELETE' });
    if (!response.ok) {
      errorElement.textContent = `Could not end the stream (${response.status}).`;
      errorElement.hidden = false;
    }
  });
  if (stream.state !== 'ended') {
    player = new WhepPlayer(preview, streamId, (reason) => {
      errorElement.textContent = `Preview: ${reason}`;
      errorElement.hidden = false;
    });
    await player.start();
  }
}

function showRefusal(message: string): void {
  errorElement.textContent = `The operator console needs this stream's operator link (or an operator token): ${message}.`;
  errorElement.hidden = false;
  errorElement.dataset.code = 'refused';
}

main().catch((error: unknown) => {
  if (error instanceof StreamAccessError) return showRefusal(error.message);
  errorElement.textContent = `Could not reach the server: ${error instanceof Error ? error.message : String(error)}`;
  errorElement.hidden = false;
});
