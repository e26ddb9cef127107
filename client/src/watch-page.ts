import { ChatPanel } from './chat-panel.js';
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
if (streamId) chat = new ChatPanel(byTestId('chat'), { streamId, mode: 'viewer', floats: byTestId('reaction-floats') });
void player.start();
