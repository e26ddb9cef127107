// Messages between the soak benchmark and its audience processes (benchmarks/soak-viewers.ts), over
// the IPC channel of child_process.fork. Types only.

export interface AudienceConfig {
  /** The stream's WHEP endpoint. */
  whepUrl: string;
  serverUrl: string;
  streamId: string;
  /** WebRTC viewers to start with (more can be added with an `add` message). */
  viewers: number;
  /** Whether the first viewer decodes its frames and reads the burn-in code back (latency). */
  probe: boolean;
  /** socket.io `/audience` clients that chat; 0 for none. */
  chatters: number;
  /** Each chatter sends one message this often (the server allows one per 2 s after a burst of 3). */
  chatIntervalMs: number;
  /** Sent as the socket.io `auth.token` (ignored by servers without access control). */
  token: string;
}

export type ToAudience = { type: 'snapshot' } | { type: 'add'; count: number } | { type: 'stop' };

export interface ViewerCounters {
  accessUnits: number;
  rtpPackets: number;
  packetsLost: number;
}

export interface AudienceSnapshot {
  type: 'snapshot';
  atMs: number;
  /** Cumulative counters of every viewer, in start order. */
  viewers: ViewerCounters[];
  /** Server receipt → arrival at the probe viewer, per frame, since the previous snapshot. */
  latencyMs: number[];
  /** Cumulative chat counts, and the delivery delays (send → broadcast received) since the previous snapshot. */
  chat: { sent: number; acked: number; refused: number; received: number; latencyMs: number[] };
  /** CPU time the audience process used so far (user + system). */
  cpuSeconds: number;
  rssBytes: number;
}

export type FromAudience =
  | { type: 'ready'; viewers: number }
  | { type: 'added'; viewers: number }
  | AudienceSnapshot
  | { type: 'error'; message: string };
