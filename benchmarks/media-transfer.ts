// Media between machines: how fast a worker reads a recording's media from its node over the internal
// routes (core/cluster-media/remote-media.ts), beside `cp` of the node's file and `curl` of the same URL in
// the same run. One node (real server process, LIVEFX_INTERNAL_SECRET set) with an imported recording of
// BENCH_TRANSFER_MB; each way runs BENCH_TRANSFER_RUNS times and the median counts:
// - cp: the node's file copied on the same disk (the floor: no HTTP at all);
// - curl: one GET of the internal URL with a media token, written to a file;
// - RemoteMedia cold: an empty cache, the whole file downloaded (ETag recorded, .part renamed when whole);
// - RemoteMedia resumed: a TCP relay in front of the node cuts the first answer after half the file; the
//   worker retries with Range + If-Range from the byte it reached (time from the first request to the whole file);
// - RemoteMedia cached: the file already in the cache, revalidated by If-None-Match (304, no body).
// Everything runs on loopback on one machine, with the files in the page cache: this measures livefx's
// overhead over the same bytes, not a network.
import { readdir, readFile, rm, mkdtemp, stat } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { MEDIA_TOKEN_HEADER, MediaToken } from '../core/cluster-media/media-token.js';
import { RemoteMedia } from '../core/cluster-media/remote-media.js';
import { createLogger } from '../core/logger.js';
import { percentile, singleSeriesGroups, writeResult } from './bar-chart.js';
import { adminFetch as fetch, startServer } from '../test/helpers/livefx-process.js';
import { runCommand as run, runFfmpeg } from '../test/helpers/ffmpeg-fixtures.js';

const TARGET_MB = Number(process.env.BENCH_TRANSFER_MB ?? 256);
const RUNS = Number(process.env.BENCH_TRANSFER_RUNS ?? 3);
const SECRET = 'bench-media-transfer-secret-0123456789';
const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** Seconds one call takes. */
async function timed(action: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await action();
  return (performance.now() - start) / 1000;
}

/** A TCP relay to `port` that cuts its first connection after `cutAfter` bytes of the answer, then relays whole. */
async function cuttingRelay(port: number, cutAfter: number): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((client) => {
    const first = connections++ === 0;
    const upstream = connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    let relayed = 0;
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (first && relayed + chunk.length >= cutAfter) {
        client.end(chunk.subarray(0, cutAfter - relayed));
        upstream.destroy();
        return;
      }
      relayed += chunk.length;
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'livefx-bench-transfer-'));
  const node = await startServer({ LIVEFX_INTERNAL_SECRET: SECRET, LIVEFX_LOG_LEVEL: 'warn' });
  const load: number[] = [loadavg()[0]!];
  try {
    // A 10 s clip looped (stream copy) to the target size: large media made in seconds.
    const clip = path.join(scratch, 'clip.mp4');
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=1280x720:r=30:d=10', '-f', 'lavfi', '-i', 'sine=f=440:d=10', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '12', '-g', '60', '-c:a', 'aac', '-shortest', clip]);
    const loops = Math.max(1, Math.ceil((TARGET_MB * 2 ** 20) / (await stat(clip)).size));
    const big = path.join(scratch, 'big.mp4');
    await runFfmpeg(['-stream_loop', String(loops - 1), '-i', clip, '-c', 'copy', big]);
    const form = new FormData();
    form.set('media', new Blob([await readFile(big)], { type: 'video/mp4' }), 'big.mp4');
    form.set('title', 'transfer bench');
    const imported = await fetch(`${node.url}/v1/recordings`, { method: 'POST', body: form });
    if (imported.status !== 201) throw new Error(`import failed: ${imported.status} ${await imported.text()}`);
    const recordingId = ((await imported.json()) as { id: string }).id;
    await rm(big, { force: true });
    const folder = path.join(node.dataDir, 'recordings', recordingId);
    const sizes = await Promise.all((await readdir(folder)).filter((name) => name.endsWith('.mp4')).map(async (name) => ({ file: path.join(folder, name), bytes: (await stat(path.join(folder, name))).size })));
    const onNode = sizes.sort((a, b) => b.bytes - a.bytes)[0]!;
    const megabytes = onNode.bytes / 2 ** 20;
    const origin = node.url;
    const token = new MediaToken({ secret: SECRET });
    const scope = `recordings/${recordingId}/original`;
    const url = `${origin}/internal/media/${scope}`;
    const log = createLogger('silent');
    const signal = new AbortController().signal;
    const target = path.join(scratch, 'copy.mp4');
    const cacheDir = path.join(scratch, 'cache');
    const fresh = (): RemoteMedia => new RemoteMedia({ token, cacheDir, retryS: 60, log });

    const seconds: Record<string, number[]> = { cp: [], curl: [], 'livefx cold': [], 'livefx resumed': [], 'livefx cached': [] };
    for (let index = 0; index < RUNS; index++) {
      await rm(target, { force: true });
      seconds.cp!.push(await timed(() => run('cp', [onNode.file, target])));
      await rm(target, { force: true });
      seconds.curl!.push(await timed(() => run('curl', ['-sf', '-o', target, '-H', `${MEDIA_TOKEN_HEADER}: ${token.sign('media-read', scope)}`, url])));
      await rm(target, { force: true });
      await rm(cacheDir, { recursive: true, force: true });
      const cold = fresh();
      seconds['livefx cold']!.push(await timed(() => cold.recording(origin, recordingId, 'original', signal)));
      // The same cache, asked again: revalidated, nothing sent.
      seconds['livefx cached']!.push(await timed(() => fresh().recording(origin, recordingId, 'original', signal)));
      await rm(cacheDir, { recursive: true, force: true });
      const relay = await cuttingRelay(Number(new URL(origin).port), Math.floor(onNode.bytes / 2));
      try {
        const fetched = await (async () => {
          const start = performance.now();
          const media = await fresh().recording(`http://127.0.0.1:${relay.port}`, recordingId, 'original', signal);
          seconds['livefx resumed']!.push((performance.now() - start) / 1000);
          return media;
        })();
        if (fetched.bytes !== onNode.bytes) throw new Error(`resumed download has ${fetched.bytes} of ${onNode.bytes} bytes`);
      } finally {
        await relay.close();
      }
      load.push(loadavg()[0]!);
      console.error(`run ${index + 1}/${RUNS}: ${Object.entries(seconds).map(([name, values]) => `${name} ${round(values.at(-1)!, 3)} s`).join(', ')}`);
    }
    const median = (values: number[]): number => percentile(values, 0.5);
    const ways = Object.fromEntries(
      Object.entries(seconds).map(([name, values]) => [name, { medianS: round(median(values), 3), mbPerS: round(megabytes / median(values), 0), runsS: values.map((value) => round(value, 3)) }]),
    );
    const result = {
      when: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg1m: { min: round(Math.min(...load), 2), max: round(Math.max(...load), 2) } },
      file: { megabytes: round(megabytes, 1), runs: RUNS },
      method: 'loopback, one machine, files in the page cache; median of the runs; MB = 2^20 bytes',
      ways,
    };
    await writeResult('media-transfer', result, {
      title: `Seconds until a ${round(megabytes, 0)} MB recording is a local file: livefx worker vs cp and curl (median of ${RUNS}; loopback)`,
      // Seconds, not MB/s: a cached file's revalidation would dwarf every other bar.
      unit: 'seconds',
      groups: singleSeriesGroups('seconds', Object.fromEntries(Object.entries(ways).map(([name, way]) => [name, way.medianS]))),
    });
  } finally {
    await node.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
