import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** All Prometheus metrics of one server, on a registry of its own so tests can run several servers. */
export class LivefxMetrics {
  readonly registry = new Registry();
  readonly streamsLive = this.gauge('livefx_streams_live', 'Streams receiving media now');
  readonly viewers = this.gauge('livefx_viewers', 'Viewers connected now, by delivery', 'delivery');
  readonly framesIn = this.counter('livefx_frames_in_total', 'Compressed frames received from publishers');
  readonly framesOut = this.counter('livefx_frames_out_total', 'Processed frames encoded for viewers');
  readonly framesDropped = this.counter('livefx_frames_dropped_total', 'Frames dropped, by reason', 'reason');
  readonly stageSeconds = new Histogram({
    name: 'livefx_stage_seconds',
    help: 'Time per frame in each pipeline stage',
    labelNames: ['stage'] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.033, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  readonly processRestarts = this.counter('livefx_process_restarts_total', 'External process restarts after a crash, by role', 'role');
  readonly accessRefusals = this.counter('livefx_access_refusals_total', 'HTTP requests refused by access control, by code (unauthorized, invalid_token, link_expired, forbidden)', 'code');
  readonly limitRefusals = this.counter('livefx_limit_refusals_total', 'Requests and messages refused by a configured limit, by limit', 'limit');
  readonly keyframeRequests = this.counter('livefx_keyframe_requests_total', 'PLIs sent to publishers');

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'livefx_' });
  }

  /** A counter on this server's registry, split by the labels named (none: one series). */
  private counter<Label extends string = string>(name: string, help: string, ...labelNames: Label[]): Counter<Label> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<Label extends string = string>(name: string, help: string, ...labelNames: Label[]): Gauge<Label> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
