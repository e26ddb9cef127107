import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';
import { publishAndWatch } from './helpers/publish-and-watch.js';

let server: RunningServer;

beforeAll(async () => {
  // The WebAssembly SIMD kernels, named explicitly (auto picks them too where the runtime has SIMD).
  server = await startServer({ LIVEFX_TRANSFORM_BACKEND: 'wasm' });
  const lutDir = path.join(server.dataDir, 'luts');
  await mkdir(lutDir, { recursive: true });
  // A LUT that maps every colour to near-black: unmistakable at the viewer.
  const rows = ['TITLE "darken"', 'LUT_3D_SIZE 2', ...Array.from({ length: 8 }, () => '0.05 0.05 0.05')];
  await writeFile(path.join(lutDir, 'darken.cube'), `${rows.join('\n')}\n`);
  await writeFile(path.join(lutDir, 'broken.cube'), 'LUT_3D_SIZE 2\n0 0 0\n');
});

afterAll(async () => {
  await server.stop();
});

const put = (id: string, body: unknown) =>
  fetch(`${server.url}/v1/streams/${id}/transforms`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('transform chain API', () => {
  it('refuses bad specs with a 400 that names the field', async () => {
    const stream = await createStream(server.url);
    const cases: [unknown, RegExp][] = [
      [{ transforms: [{ name: 'sparkles' }] }, /^transforms\.0\.name:/],
      [{ transforms: [{ name: 'color', params: { saturation: 7 } }] }, /^transforms\.0\.params\.saturation:/],
      [{ transforms: [{ name: 'color', params: { hue: 1 } }] }, /^transforms\.0\.params:/],
      [{ transforms: [{ name: 'lut3d', params: { file: '../../etc/passwd.cube' } }] }, /^transforms\.0\.params\.file: must be the name of a \.cube file/],
      [{ transforms: [{ name: 'image', params: { file: '/etc/shadow.png' } }] }, /^transforms\.0\.params\.file: must be the name of a \.png or \.jpg file/],
      [{ transforms: 'color' }, /^transforms:/],
      [{}, /^transforms:/],
    ];
    for (const [body, message] of cases) {
      const response = await put(stream.id, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(message);
    }
    const missing = await put(stream.id, { transforms: [{ name: 'lut3d', params: { file: 'nothere.cube' } }] });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('lut_not_found');
    const missingImage = await put(stream.id, { transforms: [{ name: 'image', params: { file: 'logo.png' } }] });
    expect(missingImage.status).toBe(400);
    expect(((await missingImage.json()) as { error: { code: string } }).error.code).toBe('image_not_found');
    expect(await (await fetch(`${server.url}/v1/streams/${stream.id}/transforms`)).json()).toEqual({ transforms: [] });
  });

  it('keeps a chain set before going live, with defaults filled in', async () => {
    const stream = await createStream(server.url);
    const response = await put(stream.id, { transforms: [{ name: 'color', params: { contrast: 1.2 } }] });
    expect(response.status).toBe(200);
    const spec = (await (await fetch(`${server.url}/v1/streams/${stream.id}/transforms`)).json()) as { transforms: { name: string; enabled: boolean; params: Record<string, number> }[] };
    expect(spec.transforms[0]).toMatchObject({ name: 'color', enabled: true, params: { contrast: 1.2, brightness: 0, saturation: 1 } });
  });

  it('puts the AI-processed label on whenever a stylization is on, and logs switching it off', async () => {
    const stream = await createStream(server.url);
    const stylized = await put(stream.id, { transforms: [{ name: 'pixelate', params: { blockSize: 24 } }] });
    expect(stylized.status).toBe(200);
    expect(((await stylized.json()) as { transforms: { name: string }[] }).transforms.map((entry) => entry.name)).toEqual(['pixelate', 'label']);
    // Removing the label from the spec does not remove it: it comes back.
    const removed = (await (await put(stream.id, { transforms: [{ name: 'pixelate' }] })).json()) as { transforms: { name: string }[] };
    expect(removed.transforms.map((entry) => entry.name)).toEqual(['pixelate', 'label']);
    // Switching it off is allowed, and never silent.
    const off = await put(stream.id, { transforms: [{ name: 'pixelate' }, { name: 'label', enabled: false }] });
    expect(off.status).toBe(200);
    await waitFor('the log line', () => (/AI disclosure label switched off/.test(server.output()) ? true : undefined), 3000);
  });

  it('changes what viewers see on a live stream, toggles without renegotiating, and refuses a broken LUT', async () => {
    const stream = await createStream(server.url, 'graded');
    const { publisher, viewer } = await publishAndWatch(server.url, stream, { width: 640, height: 360 });
    await waitFor('frames', () => viewer.frames.length >= 15 || undefined, 15_000);
    const meanOfRecent = (count: number) => viewer.frames.slice(-count).reduce((sum, frame) => sum + frame.centerLuma, 0) / count;
    const before = meanOfRecent(10);

    expect((await put(stream.id, { transforms: [{ name: 'color', params: { brightness: -0.4 } }] })).status).toBe(200);
    await waitFor('darker picture', () => (meanOfRecent(3) < before - 40 ? true : undefined), 5000);
    // The stream's stats say where the kernel ran.
    const backendOf = async () => ((await (await fetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { stats?: { chain?: { transforms?: { name: string; backend?: string }[] } } }).stats?.chain?.transforms?.[0];
    expect(await waitFor('color reported on the wasm backend', async () => ((await backendOf())?.backend === 'wasm' ? true : undefined), 10_000)).toBe(true);

    // Toggle off by index: the picture comes back on the same connection.
    const patched = await fetch(`${server.url}/v1/streams/${stream.id}/transforms/0`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"enabled":false}' });
    expect(patched.status).toBe(200);
    await waitFor('picture restored', () => (Math.abs(meanOfRecent(3) - before) < 15 ? true : undefined), 5000);

    expect((await put(stream.id, { transforms: [{ name: 'lut3d', params: { file: 'darken.cube', interp: 'trilinear' } }] })).status).toBe(200);
    await waitFor('LUT applied', () => (meanOfRecent(3) < 40 ? true : undefined), 5000);

    const broken = await put(stream.id, { transforms: [{ name: 'lut3d', params: { file: 'broken.cube' } }] });
    expect(broken.status).toBe(422);
    expect(((await broken.json()) as { error: { message: string } }).error.message).toMatch(/transforms\.0 \(lut3d\): expected 8 entries/);
    // The running chain is untouched by the refused one.
    expect(((await (await fetch(`${server.url}/v1/streams/${stream.id}/transforms`)).json()) as { transforms: { params: { file: string } }[] }).transforms[0]!.params.file).toBe('darken.cube');
    const badIndex = await fetch(`${server.url}/v1/streams/${stream.id}/transforms/5`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"enabled":true}' });
    expect(badIndex.status).toBe(404);

    await viewer.stop();
    await publisher.stop();
  });
});
