import type { io as socketIo } from 'socket.io-client';
import type HlsClass from 'hls.js';

declare global {
  /** socket.io client, a classic script from /socket.io/socket.io.js (a page script, or loaded by client/src/classic-script.ts). */
  const io: typeof socketIo;
  /** hls.js, loaded as a classic script from /vendor/hls.min.js when a player first needs HLS (client/src/classic-script.ts). */
  const Hls: typeof HlsClass | undefined;
}
