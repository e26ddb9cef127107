import type { io as socketIo } from 'socket.io-client';
import type HlsClass from 'hls.js';

declare global {
  /** socket.io client, loaded as a classic script from /socket.io/socket.io.js. */
  const io: typeof socketIo;
  /** hls.js, loaded as a classic script from /vendor/hls.min.js (watch and embed pages). */
  const Hls: typeof HlsClass | undefined;
}
