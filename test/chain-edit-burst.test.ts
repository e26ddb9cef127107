import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validCube } from './fuzz/fuzz-fixtures.js';
import { WhepClient } from './helpers/whep-client.js';
import { WhipClient } from './helpers/whip-client.js';
import { createStream, startServer, waitFor, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';

// An operator typing into a lower third re-applies the whole chain at every keystroke. Each edit
// configures the chain again in the stream's worker; with a 3D LUT in it that used to cost about
// 100 ms of that thread's time per edit, and a burst of edits froze the picture.

let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
  await mkdir(path.join(server.dataDir, 'luts'), { recursive: true });
  await writeFile(path.join(server.dataDir, 'luts', 'grade.cube'), validCube(17));
}, 60_000);

afterAll(async () => {
  const code = await server.stop('SIGTERM');
  expect(code, server.output()).toBe(0);
});

async function frameCounters(): Promise<{ framesIn: number; framesOut: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const value = (name: string) => Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((line) => line.startsWith(`${name} `)) ?? '')?.[2] ?? Number.NaN);
  return { framesIn: value('livefx_frames_in_total'), framesOut: value('livefx_frames_out_total') };
}

describe('a burst of chain edits on a live stream', () => {
  it('keeps processed frames flowing while 40 edits of a chain with a LUT are applied', async () => {
    const stream = await createStream(server.url, 'chain edits');
    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 180, fps: 15, kbps: 400 });
    await publisher.start();
    const viewer = new WhepClient(`${server.url}/whep/${stream.id}`);
    await viewer.start();
    const coded = () => viewer.frames.filter((frame) => frame.code).length;
    try {
      await waitFor('first processed frames', () => coded() >= 10 || undefined, 30_000);
      const chain = (text: string) => ({
        transforms: [
          { name: 'lut3d', params: { file: 'grade.cube', interp: 'tetrahedral', strength: 0.8 } },
          { name: 'text', params: { text, style: 'lower-third' } },
        ],
      });
      const before = await frameCounters();
      const codedBefore = coded();
      const started = Date.now();
      const title = 'Tonight: the final round';
      // Three edits in flight at a time, as fast as the server answers them.
      let next = 0;
      await Promise.all(
        Array.from({ length: 3 }, async () => {
          while (next < 40) {
            const index = next++;
            const response = await fetch(`${server.url}/v1/streams/${stream.id}/transforms`, {
              method: 'PUT',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(chain(title.slice(0, 1 + (index % title.length)))),
            });
            expect(response.status, await response.text()).toBe(200);
          }
        }),
      );
      // Measured over at least 2 s of stream, the burst included.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 2000 - (Date.now() - started))));
      const after = await frameCounters();
      const received = after.framesIn - before.framesIn;
      const processed = after.framesOut - before.framesOut;
      console.log(`chain edits: 40 edits in ${Date.now() - started} ms; ${processed} of ${received} received frames processed, ${coded() - codedBefore} reached the viewer`);
      expect(received).toBeGreaterThan(10);
      expect(processed / received).toBeGreaterThanOrEqual(0.7);
      await waitFor('more processed frames at the viewer', () => coded() >= codedBefore + 10 || undefined, 20_000);
    } finally {
      await viewer.stop().catch(() => undefined);
      await publisher.stop().catch(() => undefined);
    }
  }, 120_000);
});
