import { StreamPlayer } from './stream-player.js';

// The player alone, for other sites to frame (LIVEFX_EMBED_ORIGINS): no chat, no page chrome.
void StreamPlayer.inPage().start();
