import { ChatPanel } from './chat-panel.js';
import { loadSocketIoScript } from './classic-script.js';
import { byTestId, queryParam } from './page-elements.js';
import { StreamPlayer } from './stream-player.js';

/** The chat waits for the picture (or this long without one): its socket no longer competes with the first frame. */
const CHAT_AFTER_MS = 2000;

const streamId = queryParam('stream');
let chat: ChatPanel | undefined;
const player = StreamPlayer.inPage({
  onStream: (stream) => {
    byTestId('title').textContent = stream.title;
  },
  onEnded: () => chat?.streamEnded(),
});
// The player first: its WHEP offer went out from the page's head; the chat connects once the picture shows.
void player.start();
if (streamId) {
  const pictureOrTimeout = Promise.race([player.firstFrame, new Promise((resolve) => setTimeout(resolve, CHAT_AFTER_MS))]);
  void pictureOrTimeout.then(loadSocketIoScript).then((loaded) => {
    if (loaded) chat = new ChatPanel(byTestId('chat'), { streamId, mode: 'viewer', floats: byTestId('reaction-floats') });
  });
}
