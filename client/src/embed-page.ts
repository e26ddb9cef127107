import { byTestId, queryParam } from './page-elements.js';
import { StreamPlayer } from './stream-player.js';

// The player alone, for other sites to frame (LIVEFX_EMBED_ORIGINS): no chat, no page chrome.
const streamId = queryParam('stream');
const player = new StreamPlayer({
  streamId: streamId ?? '',
  elements: {
    video: byTestId<HTMLVideoElement>('player'),
    captions: byTestId('captions'),
    captionsToggle: byTestId<HTMLButtonElement>('captions-toggle'),
    unmute: byTestId<HTMLButtonElement>('unmute'),
    ended: byTestId('ended'),
    error: byTestId('error'),
    state: byTestId('state'),
  },
  hlsOnly: queryParam('mode') === 'hls',
});
(window as unknown as { livefxViewer: StreamPlayer['viewer'] }).livefxViewer = player.viewer;

if (streamId) void player.start();
else player.showError('This player needs ?stream=<id>.');
