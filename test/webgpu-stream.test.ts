import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';
import { publishAndWatch } from './helpers/publish-and-watch.js';
import { WebgpuDevice } from '../transforms/webgpu/webgpu-device.js';

// A live stream on LIVEFX_TRANSFORM_BACKEND=webgpu: the picture changes, and the stream's stats and
// /metrics say the kernel runs on the GPU. Without a GPU the server opens Mesa's software adapter;
// where no adapter exists at all, the test is skipped with the reason in its name and on stderr.

let unavailable: string | undefined;
try {
  // Opened here only to learn whether the server can open one; closed at once.
  WebgpuDevice.forThisThread();
  WebgpuDevice.closeThisThread();
} catch (error) {
  unavailable = error instanceof Error ? error.message : String(error);
  process.stderr.write(`webgpu-stream: skipped, ${unavailable}\n`);
}

let server: RunningServer | undefined;

beforeAll(async () => {
  if (unavailable) return;
  server = await startServer({ LIVEFX_TRANSFORM_BACKEND: 'webgpu' });
});

afterAll(async () => {
  await server?.stop();
});

describe.skipIf(unavailable !== undefined)(`a live stream on the webgpu backend${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('changes what viewers see and reports webgpu in the stream stats and /metrics', async () => {
    const running = server!;
    const stream = await createStream(running.url, 'gpu');
    const { publisher, viewer } = await publishAndWatch(running.url, stream, { width: 640, height: 360 });
    try {
      await waitFor('frames', () => viewer.frames.length >= 15 || undefined, 30_000);
      const meanOfRecent = (count: number) => viewer.frames.slice(-count).reduce((sum, frame) => sum + frame.centerLuma, 0) / count;
      const before = meanOfRecent(10);
      const put = await fetch(`${running.url}/v1/streams/${stream.id}/transforms`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ transforms: [{ name: 'color', params: { brightness: -0.4 } }] }),
      });
      expect(put.status).toBe(200);
      await waitFor('darker picture', () => (meanOfRecent(3) < before - 40 ? true : undefined), 30_000);
      const firstTransform = async () => ((await (await fetch(`${running.url}/v1/streams/${stream.id}`)).json()) as { stats?: { chain?: { transforms?: { backend?: string }[] } } }).stats?.chain?.transforms?.[0];
      expect(await waitFor('color reported on the webgpu backend', async () => ((await firstTransform())?.backend === 'webgpu' ? true : undefined), 30_000)).toBe(true);
      const scraped = await (await fetch(`${running.url}/metrics`)).text();
      expect(scraped).toMatch(/^livefx_transforms_by_backend\{backend="webgpu"\} [1-9]/m);
      // The adapter the stream's worker opened is in the server's log.
      expect(running.output()).toMatch(/transforms run on the GPU: /);
    } finally {
      await viewer.stop();
      await publisher.stop();
    }
  });
});
