import { ChatPanel } from './chat-panel.js';
import { LiveSocket, type StreamStats } from './live-socket.js';
import { byTestId, formatBitrate, inputLimitsNote, queryParam, renderStats } from './page-elements.js';
import { usePageToken } from './page-token.js';
import { SignallingError, endSession, negotiate } from './webrtc-signalling.js';

type PublisherState = 'idle' | 'connecting' | 'live' | 'ended' | 'error';
type Source = 'camera' | 'screen' | 'pattern';

const streamId = queryParam('stream');
const streamKey = queryParam('key');
// The stream key is also this page's token: its chat and stats sockets reach a private stream.
if (streamKey) usePageToken(streamKey);
const stateElement = byTestId('state');
const errorElement = byTestId('error');
const preview = byTestId<HTMLVideoElement>('preview');
const goLive = byTestId<HTMLButtonElement>('go-live');
const stopButton = byTestId<HTMLButtonElement>('stop');
const sourcePicker = byTestId<HTMLSelectElement>('source');
const statsElement = byTestId('stats');

const publisher = { pc: undefined as RTCPeerConnection | undefined, state: 'idle' as PublisherState };
(window as unknown as { livefxPublisher: typeof publisher }).livefxPublisher = publisher;

let media: MediaStream | undefined;
let sessionUrl: string | undefined;
let serverStats: StreamStats | undefined;
let patternTimer: number | undefined;
let beepTimer: number | undefined;
let audioContext: AudioContext | undefined;

function setState(state: PublisherState): void {
  publisher.state = state;
  stateElement.textContent = state;
  stateElement.dataset.state = state;
  goLive.disabled = state !== 'idle' && state !== 'error';
  stopButton.disabled = state !== 'connecting' && state !== 'live';
  sourcePicker.disabled = state === 'connecting' || state === 'live' || state === 'ended';
}

function showError(message: string): void {
  errorElement.textContent = message;
  errorElement.hidden = message === '';
}

/** A cheap synthetic source: moving colour bars, a frame counter and a clock, plus a beep each second. */
function patternStream(withAudio: boolean): MediaStream {
  const canvas = document.createElement('canvas');
  canvas.width = 1280;
  canvas.height = 720;
  const context = canvas.getContext('2d')!;
  const colours = ['#c0c0c0', '#c0c000', '#00c0c0', '#00c000', '#c000c0', '#c00000', '#0000c0'];
  let frame = 0;
  const draw = (): void => {
    const barWidth = 1280 / colours.length;
    const shift = (frame * 4) % 1280;
    colours.forEach((colour, index) => {
      context.fillStyle = colour;
      const x = (index * barWidth + shift) % 1280;
      context.fillRect(x, 0, barWidth + 1, 720);
      if (x + barWidth > 1280) context.fillRect(x - 1280, 0, barWidth + 1, 720);
    });
    context.fillStyle = 'rgba(0,0,0,0.65)';
    context.fillRect(390, 250, 500, 220);
    context.fillStyle = '#fff';
    context.font = 'bold 96px system-ui, sans-serif';
    context.textAlign = 'center';
    context.fillText(String(frame), 640, 360);
    context.font = '40px system-ui, sans-serif';
    context.fillText(new Date().toISOString().slice(11, 23), 640, 430);
    frame++;
  };
  draw();
  patternTimer = window.setInterval(draw, 1000 / 30);
  const stream = canvas.captureStream(30);
  if (withAudio) {
    audioContext = new AudioContext();
    const oscillator = audioContext.createOscillator();
    const gain = audioContext.createGain();
    oscillator.frequency.value = 880;
    gain.gain.value = 0;
    oscillator.connect(gain);
    const destination = audioContext.createMediaStreamDestination();
    gain.connect(destination);
    oscillator.start();
    const beep = (): void => {
      const now = audioContext!.currentTime;
      gain.gain.setValueAtTime(0.3, now);
      gain.gain.setValueAtTime(0, now + 0.1);
    };
    beepTimer = window.setInterval(beep, 1000);
    for (const track of destination.stream.getAudioTracks()) stream.addTrack(track);
  }
  return stream;
}

async function acquire(source: Source, withAudio: boolean): Promise<MediaStream> {
  if (source === 'pattern') return patternStream(withAudio);
  if (source === 'screen') return navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 30 }, audio: withAudio });
  return navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 }, audio: withAudio });
}

function releaseMedia(): void {
  for (const track of media?.getTracks() ?? []) track.stop();
  window.clearInterval(patternTimer);
  window.clearInterval(beepTimer);
  void audioContext?.close();
  audioContext = undefined;
  media = undefined;
}

/** Once Go live was pressed, `media` is what the connection sends: a preview must not replace (and stop) it. */
const previewAllowed = (): boolean => publisher.state === 'idle' || publisher.state === 'error';

async function showPreview(): Promise<void> {
  // The live socket may connect only after a quick click on Go live (main() previews then).
  if (!previewAllowed()) return;
  releaseMedia();
  const source = sourcePicker.value as Source;
  // Screen capture needs a user gesture; it starts on Go live instead.
  if (source === 'screen') {
    preview.srcObject = null;
    return;
  }
  try {
    const previewMedia = await acquire(source, false);
    // Go live was pressed while the camera opened: its own media is being sent.
    if (!previewAllowed()) {
      for (const track of previewMedia.getTracks()) track.stop();
      return;
    }
    media = previewMedia;
    preview.srcObject = media;
  } catch (error) {
    showError(`Could not open the ${source}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function startPublishing(): Promise<void> {
  if (!streamId || !streamKey) return;
  showError('');
  setState('connecting');
  try {
    releaseMedia();
    media = await acquire(sourcePicker.value as Source, true);
    preview.srcObject = media;
    const pc = new RTCPeerConnection();
    publisher.pc = pc;
    const videoTrack = media.getVideoTracks()[0];
    if (!videoTrack) throw new Error('the source has no video track');
    const video = pc.addTransceiver(videoTrack, { direction: 'sendonly', streams: [media] });
    const codecs = RTCRtpSender.getCapabilities('video')?.codecs ?? [];
    const h264 = codecs.filter((codec) => codec.mimeType === 'video/H264' && /packetization-mode=1/.test(codec.sdpFmtpLine ?? ''));
    const vp8 = codecs.filter((codec) => codec.mimeType === 'video/VP8');
    if (h264.length + vp8.length > 0) video.setCodecPreferences([...h264, ...vp8]);
    const parameters = video.sender.getParameters();
    parameters.degradationPreference = 'maintain-resolution';
    await video.sender.setParameters(parameters).catch(() => undefined);
    const audioTrack = media.getAudioTracks()[0];
    if (audioTrack) pc.addTransceiver(audioTrack, { direction: 'sendonly', streams: [media] });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') {
        showError('The connection to the server failed.');
        setState('error');
      }
    });
    sessionUrl = await negotiate(pc, `/whip/${encodeURIComponent(streamId)}`, streamKey);
  } catch (error) {
    publisher.pc?.close();
    publisher.pc = undefined;
    if (error instanceof SignallingError && error.status === 401) showError('The stream key was rejected. Use the publish link you were given.');
    else if (error instanceof SignallingError && error.status === 409) showError(`The server refused: ${error.message}`);
    else showError(`Could not go live: ${error instanceof Error ? error.message : String(error)}`);
    setState('error');
  }
}

function stopPublishing(): void {
  endSession(sessionUrl);
  sessionUrl = undefined;
  publisher.pc?.close();
  releaseMedia();
  setState('ended');
}

let lastBytes = 0;
let lastTimestamp = 0;
async function updateStats(): Promise<void> {
  const rows: [string, string][] = [];
  const pc = publisher.pc;
  if (pc) {
    const report = await pc.getStats();
    report.forEach((entry: RTCStats & Record<string, unknown>) => {
      if (entry.type !== 'outbound-rtp' || entry.kind !== 'video') return;
      const bytes = Number(entry.bytesSent ?? 0);
      const bitrate = lastTimestamp > 0 ? ((bytes - lastBytes) * 8 * 1000) / (entry.timestamp - lastTimestamp) : 0;
      lastBytes = bytes;
      lastTimestamp = entry.timestamp;
      rows.push(['Resolution', entry.frameWidth ? `${String(entry.frameWidth)}×${String(entry.frameHeight)}` : '—']);
      rows.push(['FPS sent', entry.framesPerSecond !== undefined ? String(entry.framesPerSecond) : '—']);
      rows.push(['Bitrate', formatBitrate(bitrate)]);
      if (typeof entry.targetBitrate === 'number') rows.push(['Target bitrate', formatBitrate(entry.targetBitrate)]);
      rows.push(['Codec', String(report.get(String(entry.codecId))?.mimeType ?? '—').replace('video/', '')]);
    });
  }
  if (rows.length === 0) rows.push(['Resolution', '—'], ['FPS sent', '—'], ['Bitrate', '—']);
  rows.push(['Server input', inputLimitsNote(serverStats?.input)]);
  rows.push(['Viewers', serverStats ? `${serverStats.viewers.webrtc} WebRTC · ${serverStats.viewers.hls} HLS` : '—']);
  renderStats(statsElement, rows);
}

async function main(): Promise<void> {
  setState('idle');
  const initialSource = queryParam('source');
  if (initialSource === 'camera' || initialSource === 'screen' || initialSource === 'pattern') sourcePicker.value = initialSource;
  if (!streamId || !streamKey) {
    showError('This page needs ?stream=<id>&key=<streamKey>: open the publish link from the home page.');
    setState('error');
    goLive.disabled = true;
    return;
  }
  const chat = new ChatPanel(byTestId('chat'), { streamId, mode: 'read-only' });
  goLive.addEventListener('click', () => void startPublishing());
  stopButton.addEventListener('click', stopPublishing);
  sourcePicker.addEventListener('change', () => void showPreview());
  window.addEventListener('pagehide', () => endSession(sessionUrl));
  void updateStats();
  window.setInterval(() => void updateStats(), 1000);
  try {
    const { stream } = await LiveSocket.connect(streamId, {
      onState: (state) => {
        if (state === 'live' && publisher.state === 'connecting') setState('live');
        if (state === 'ended') chat.streamEnded();
        if (state === 'ended' && publisher.state !== 'ended') {
          releaseMedia();
          publisher.pc?.close();
          setState('ended');
        }
      },
      onStats: (stats) => (serverStats = stats),
    });
    byTestId('title').textContent = stream.title;
    // The stream may have gone live while the socket was still subscribing (a quick click on Go live).
    if (stream.state === 'live' && publisher.state === 'connecting') setState('live');
    if (stream.state === 'ended') {
      setState('ended');
      showError('This stream has ended. Create a new one on the home page.');
      return;
    }
  } catch (error) {
    showError(`Could not reach the server: ${error instanceof Error ? error.message : String(error)}`);
  }
  await showPreview();
}

void main();
