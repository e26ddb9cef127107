import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { ADMIN_TOKEN, createStream, startServer, waitFor, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';
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
/** The server of the GPU-loss test, started by it (LIVEFX_FAULT_GPU_LOSS_AFTER_FRAMES). */
let faultServer: RunningServer | undefined;

/** What GET /v1/streams/:id reports of the chain: each transform's backend. */
async function backendsOf(url: string, streamId: string): Promise<string[]> {
  const body = (await (await fetch(`${url}/v1/streams/${streamId}`)).json()) as { stats?: { chain?: { transforms?: { backend?: string }[] } } };
  return (body.stats?.chain?.transforms ?? []).map((transform) => transform.backend ?? 'js');
}

/** Replaces the stream's chain over the HTTP API. */
async function putChain(url: string, streamId: string, transforms: unknown[]): Promise<void> {
  const put = await fetch(`${url}/v1/streams/${streamId}/transforms`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transforms }) });
  expect(put.status, await put.text()).toBe(200);
}

beforeAll(async () => {
  if (unavailable) return;
  server = await startServer({ LIVEFX_TRANSFORM_BACKEND: 'webgpu' });
});

afterAll(async () => {
  // Exit 0: the shared GPU thread destroys its device before the process ends (a Dawn instance dropped under a live device crashes it).
  const codes = await Promise.all([server?.stop(), faultServer?.stop()]);
  for (const code of codes) if (code !== undefined) expect(code).toBe(0);
});

describe.skipIf(unavailable !== undefined)(`a live stream on the webgpu backend${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('changes what viewers see and reports webgpu in the stream stats and /metrics; a second stream shares the one device', async () => {
    const running = server!;
    const stream = await createStream(running.url, 'gpu');
    const { publisher, viewer } = await publishAndWatch(running.url, stream, { width: 640, height: 360 });
    let second: Awaited<ReturnType<typeof publishAndWatch>> | undefined;
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
      expect(scraped).toMatch(/^livefx_webgpu_devices 1$/m);
      // The adapter the stream's worker opened is in the server's log.
      expect(running.output()).toMatch(/transforms run on the GPU: /);

      // A second stream on the GPU: its worker uses the process's device, it opens no other.
      const other = await createStream(running.url, 'gpu second');
      await putChain(running.url, other.id, [{ name: 'color', params: { brightness: 0.4 } }]);
      second = await publishAndWatch(running.url, other, { width: 640, height: 360 });
      const otherViewer = second.viewer;
      await waitFor('frames of the second stream', () => otherViewer.frames.length >= 15 || undefined, 60_000);
      expect(await waitFor('the second stream on the webgpu backend', async () => ((await backendsOf(running.url, other.id))[0] === 'webgpu' ? true : undefined), 30_000)).toBe(true);
      // Brightened by its own chain while the first stream stays dark: each stream's kernels on the shared device.
      const otherMean = () => otherViewer.frames.slice(-3).reduce((sum, frame) => sum + frame.centerLuma, 0) / 3;
      await waitFor('a brighter second stream than the first', () => (otherMean() > meanOfRecent(3) + 60 ? true : undefined), 30_000);
      const both = await waitFor('two streams on one device in /metrics', async () => {
        const text = await (await fetch(`${running.url}/metrics`)).text();
        return /^livefx_webgpu_streams 2$/m.test(text) ? text : undefined;
      }, 30_000);
      expect(both).toMatch(/^livefx_webgpu_devices 1$/m);
    } finally {
      await second?.viewer.stop();
      await second?.publisher.stop();
      await viewer.stop();
      await publisher.stop();
    }
  });
});

describe.skipIf(unavailable !== undefined)(`a GPU lost mid-stream${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('switches the chain to the wasm kernels: frames keep flowing, the operators get a gpu_failed alert, stats and /metrics say wasm', async () => {
    // Fault injection: each stream worker destroys its GPU device after 60 frames on the GPU (as a driver reset would).
    faultServer = await startServer({ LIVEFX_TRANSFORM_BACKEND: 'webgpu', LIVEFX_FAULT_GPU_LOSS_AFTER_FRAMES: '60' });
    const running = faultServer;
    const stream = await createStream(running.url, 'gpu-loss');
    await putChain(running.url, stream.id, [{ name: 'color', params: { brightness: -0.4 } }, { name: 'label', params: {} }]);
    const operator = io(`${running.url}/operator`, { auth: { token: ADMIN_TOKEN }, transports: ['websocket'] });
    const alerts: { streamId: string; code: string; message: string }[] = [];
    operator.on('alert', (alert: { streamId: string; code: string; message: string }) => alerts.push(alert));
    // Joined before the stream goes live: the loss comes a few seconds after the first frame.
    expect((await operator.timeout(10_000).emitWithAck('join', { streamId: stream.id })).ok).toBe(true);
    const { publisher, viewer } = await publishAndWatch(running.url, stream, { width: 640, height: 360 });
    try {
      const alert = await waitFor('a gpu_failed alert at the operator console', () => alerts.find((entry) => entry.code === 'gpu_failed' && entry.streamId === stream.id), 90_000);
      expect(alert.message).toMatch(/^the GPU failed \(.+\): the transforms run on the WebAssembly kernels \(wasm\) for the rest of the stream$/);
      // color and label; the burn-in code after them is TypeScript on every backend.
      expect(await waitFor('the chain reported on wasm', async () => ((await backendsOf(running.url, stream.id)).slice(0, 2).join() === 'wasm,wasm' ? true : undefined), 30_000)).toBe(true);
      const scraped = await (await fetch(`${running.url}/metrics`)).text();
      expect(scraped).toMatch(/^livefx_transforms_by_backend\{backend="wasm"\} [1-9]/m);
      expect(scraped).toMatch(/^livefx_transforms_by_backend\{backend="webgpu"\} 0$/m);
      expect(scraped).toMatch(/^livefx_webgpu_devices 0$/m);
      // Frames keep flowing after the loss, and the chain still works on the CPU: undoing the darkening brightens what viewers see.
      const meanOfRecent = (count: number) => viewer.frames.slice(-count).reduce((sum, frame) => sum + frame.centerLuma, 0) / count;
      const seen = viewer.frames.length;
      await waitFor('30 more frames after the loss', () => (viewer.frames.length >= seen + 30 ? true : undefined), 60_000);
      const dark = meanOfRecent(10);
      await putChain(running.url, stream.id, [{ name: 'color', params: { brightness: 0 } }, { name: 'label', params: {} }]);
      await waitFor('a brighter picture from the wasm chain', () => (meanOfRecent(3) > dark + 40 ? true : undefined), 60_000);
      expect(running.output()).toMatch(/the GPU failed/);
    } finally {
      operator.close();
      await viewer.stop();
      await publisher.stop();
    }
  });
});
