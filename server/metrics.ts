import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { NodeInfo } from './cluster/node-cluster.js';
import type { JobQueue, JobQueueStats } from '../core/jobs/job-queue.js';
import type { ChainStats } from '../transforms/chain-stats.js';
import { WebgpuHub } from '../transforms/webgpu/webgpu-hub.js';

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
  readonly decoderResumes = this.counter('livefx_decoder_resumes_total', 'Live decoders (re)started and given their first frame, by what that frame was (keyframe or delta)', 'first_frame');

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

/**
 * Enabled transforms of the live streams by the backend their kernel runs on (js, wasm, webgpu), read
 * at scrape time from each stream's last chain stats: how an operator checks where the pixels are processed.
 */
export function registerTransformBackendMetrics(metrics: LivefxMetrics, chains: () => Iterable<ChainStats | undefined>): void {
  new Gauge({
    name: 'livefx_transforms_by_backend',
    help: 'Enabled transforms of live streams, by the backend their kernel runs on (LIVEFX_TRANSFORM_BACKEND)',
    labelNames: ['backend'],
    registers: [metrics.registry],
    collect() {
      const counts = new Map<string, number>([['js', 0], ['wasm', 0], ['webgpu', 0]]);
      for (const chain of chains()) {
        for (const transform of chain?.transforms ?? []) if (transform.enabled) counts.set(transform.backend ?? 'js', (counts.get(transform.backend ?? 'js') ?? 0) + 1);
      }
      for (const [backend, count] of counts) this.set({ backend }, count);
    },
  });
  new Gauge({
    name: 'livefx_webgpu_devices',
    help: 'WebGPU devices open in this process: 0 or 1, the shared GPU thread\'s, whatever the number of streams on the GPU',
    registers: [metrics.registry],
    collect() {
      this.set(WebgpuHub.current()?.devices ?? 0);
    },
  });
  new Gauge({
    name: 'livefx_webgpu_streams',
    help: 'Stream workers connected to the shared WebGPU device',
    registers: [metrics.registry],
    collect() {
      this.set(WebgpuHub.current()?.clients ?? 0);
    },
  });
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

/** Per-node gauges: one series per alive node, labelled by its id. */
const NODE_GAUGES: { name: string; help: string; value: (node: NodeInfo) => number }[] = [
  { name: 'livefx_node_streams', help: 'Open streams on each alive node (its last heartbeat)', value: (node) => node.streams },
  { name: 'livefx_node_viewers', help: 'WebRTC viewers on each alive node (its last heartbeat)', value: (node) => node.viewers },
  { name: 'livefx_node_relays', help: 'Streams each alive node relays for their full owners (one subscription each; their viewers count in livefx_node_viewers)', value: (node) => node.relays ?? 0 },
  { name: 'livefx_node_free_slots', help: 'Free processing slots (LIVEFX_MAX_STREAMS minus open streams) on each alive node', value: (node) => node.freeSlots },
  { name: 'livefx_node_cpu_percent', help: 'Machine CPU use reported by each alive node', value: (node) => node.cpuPercent },
  { name: 'livefx_node_serving', help: '1 for an alive node taking new streams, 0 for a draining one', value: (node) => (node.state === 'serving' ? 1 : 0) },
  { name: 'livefx_node_heartbeat_age_seconds', help: 'Age of each alive node\'s last heartbeat', value: (node) => (Date.now() - Date.parse(node.lastHeartbeat)) / 1000 },
];

/** Node gauges read at scrape time from what the last heartbeat read (a scrape never waits for Redis). */
export function registerNodeMetrics(metrics: LivefxMetrics, nodes: () => NodeInfo[]): void {
  for (const gauge of NODE_GAUGES) {
    new Gauge({
      name: gauge.name,
      help: gauge.help,
      labelNames: ['node'] as const,
      registers: [metrics.registry],
      collect() {
        this.reset();
        for (const node of nodes()) this.set({ node: node.id }, gauge.value(node));
      },
    });
  }
}
