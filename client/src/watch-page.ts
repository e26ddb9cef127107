import { ChatPanel } from './chat-panel.js';
import { loadSocketIoScript } from './classic-script.js';
import { byTestId, queryParam } from './page-elements.js';
import { StreamPlayer } from './stream-player.js';

const streamId = queryParam('stream');
let chat: ChatPanel | undefined;
const player = StreamPlayer.inPage({
  onStream: (stream) => {
    byTestId('title').textContent = stream.title;
  },
  onEnded: () => chat?.streamEnded(),
});
// The player first: its WHEP offer goes out while the socket.io client (chat needs it) still loads.
void player.start();
if (streamId) {
  void loadSocketIoScript().then((loaded) => {
    if (loaded) chat = new ChatPanel(byTestId('chat'), { streamId, mode: 'viewer', floats: byTestId('reaction-floats') });
  });
}
