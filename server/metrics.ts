import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobQueue, JobQueueStats } from '../core/jobs/job-queue.js';

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

/** The per-queue gauges, by metric name: what an autoscaler (KEDA, HPA, `livefx workers`) reads. */
const JOB_GAUGES: readonly { name: string; help: string; value: (stats: JobQueueStats) => number | null }[] = [
  { name: 'livefx_jobs_waiting', help: 'Jobs waiting for a worker, by queue (job kind)', value: (stats) => stats.waiting },
  { name: 'livefx_jobs_active', help: 'Jobs running now, by queue', value: (stats) => stats.active },
  { name: 'livefx_jobs_delayed', help: 'Jobs waiting for a later try (backoff), by queue', value: (stats) => stats.delayed },
  { name: 'livefx_jobs_failed', help: 'Jobs that failed for good and are kept, by queue', value: (stats) => stats.failed },
  { name: 'livefx_jobs_oldest_waiting_seconds', help: 'Age of the oldest waiting job, by queue (0: none waits)', value: (stats) => stats.oldestWaitingS },
  {
    name: 'livefx_jobs_deadline_seconds',
    help: 'Seconds until the earliest deadline (enqueue time + LIVEFX_JOB_DEADLINE_S) of an unfinished job, by queue; negative: overdue; absent: none',
    value: (stats) => stats.deadlineS,
  },
];

/** Job queue gauges read at scrape time (one stats() call per scrape); while the queue is unreachable they are absent and livefx_jobs_queue_up is 0. */
export function registerJobMetrics(metrics: LivefxMetrics, queue: Pick<JobQueue, 'stats'>, deadlineS: number): void {
  let pending: { at: number; stats: Promise<JobQueueStats[] | undefined> } | undefined;
  const current = (): Promise<JobQueueStats[] | undefined> => {
    const now = performance.now();
    // The gauges of one scrape share one read.
    if (!pending || now - pending.at > 200) pending = { at: now, stats: queue.stats(deadlineS).catch(() => undefined) };
    return pending.stats;
  };
  new Gauge({
    name: 'livefx_jobs_queue_up',
    help: '1 while the job queue answers (always, without Redis), 0 while its Redis cannot be reached',
    registers: [metrics.registry],
    async collect() {
      this.set((await current()) ? 1 : 0);
    },
  });
  for (const gauge of JOB_GAUGES) {
    new Gauge({
      name: gauge.name,
      help: gauge.help,
      labelNames: ['queue'] as const,
      registers: [metrics.registry],
      async collect() {
        this.reset();
        for (const stats of (await current()) ?? []) {
          const value = gauge.value(stats);
          if (value !== null) this.set({ queue: stats.queue }, value);
        }
      },
    });
  }
}
