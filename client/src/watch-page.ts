import { ChatPanel } from './chat-panel.js';
import { byTestId, queryParam } from './page-elements.js';
import { StreamPlayer } from './stream-player.js';

const streamId = queryParam('stream');
let chat: ChatPanel | undefined;
const player = new StreamPlayer({
  streamId: streamId ?? '',
  elements: {
    video: byTestId<HTMLVideoElement>('player'),
    captions: byTestId('captions'),
    captionsToggle: byTestId<HTMLButtonElement>('captions-toggle'),
    unmute: byTestId<HTMLButtonElement>('unmute'),
    ended: byTestId('ended'),
    error: byTestId('error'),
    mode: byTestId('mode'),
    latency: byTestId('latency'),
    state: byTestId('state'),
  },
  hlsOnly: queryParam('mode') === 'hls',
  onStream: (stream) => {
    byTestId('title').textContent = stream.title;
  },
  onEnded: () => chat?.streamEnded(),
});
(window as unknown as { livefxViewer: StreamPlayer['viewer'] }).livefxViewer = player.viewer;

async function main(): Promise<void> {
  if (!streamId) {
    player.showError('This page needs ?stream=<id>.');
    return;
  }
  chat = new ChatPanel(byTestId('chat'), { streamId, mode: 'viewer', floats: byTestId('reaction-floats') });
  await player.start();
}

void main();
