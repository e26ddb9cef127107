import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** All Prometheus metrics of one server, on a registry of its own so tests can run several servers. */
export class LivefxMetrics {
  readonly registry = new Registry();
  readonly streamsLive = new Gauge({ name: 'livefx_streams_live', help: 'Streams receiving media now', registers: [this.registry] });
  readonly viewers = new Gauge({
    name: 'livefx_viewers',
    help: 'Viewers connected now, by delivery',
    labelNames: ['delivery'] as const,
    registers: [this.registry],
  });
  readonly framesIn = new Counter({ name: 'livefx_frames_in_total', help: 'Compressed frames received from publishers', registers: [this.registry] });
  readonly framesOut = new Counter({ name: 'livefx_frames_out_total', help: 'Processed frames encoded for viewers', registers: [this.registry] });
  readonly framesDropped = new Counter({
    name: 'livefx_frames_dropped_total',
    help: 'Frames dropped, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly stageSeconds = new Histogram({
    name: 'livefx_stage_seconds',
    help: 'Time per frame in each pipeline stage',
    labelNames: ['stage'] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.033, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  readonly processRestarts = new Counter({
    name: 'livefx_process_restarts_total',
    help: 'External process restarts after a crash, by role',
    labelNames: ['role'] as const,
    registers: [this.registry],
  });
  readonly accessRefusals = new Counter({
    name: 'livefx_access_refusals_total',
    help: 'HTTP requests refused by access control, by code (unauthorized, invalid_token, link_expired, forbidden)',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly limitRefusals = new Counter({
    name: 'livefx_limit_refusals_total',
    help: 'Requests and messages refused by a configured limit, by limit',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly keyframeRequests = new Counter({ name: 'livefx_keyframe_requests_total', help: 'PLIs sent to publishers', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'livefx_' });
  }
}
