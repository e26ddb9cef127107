import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { LivefxServer } from '../server/livefx-server.js';
import { runFfmpeg } from './helpers/ffmpeg-fixtures.js';
import { ADMIN_TOKEN } from './helpers/livefx-process.js';

let scratch: string;
let media: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-server-close-'));
  media = path.join(scratch, 'clip.mp4');
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc=s=320x180:r=15:d=20', '-f', 'lavfi', '-i', 'sine=d=20', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', media]);
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('LivefxServer.close', () => {
  // The cause of an intermittent 60 s hang in the highlights CLI test: a keep-alive connection whose file
  // response was still being sent when close() began kept the HTTP server open for keepAliveTimeout (72 s).
  it('finishes while a client is still reading a media file (the response gets 1 s, then the connection is cut)', async () => {
    const server = new LivefxServer({ config: loadConfig({ HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: path.join(scratch, 'data'), LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN }), log: pino({ level: 'silent' }) });
    const { url } = await server.start();
    const recording = await server.recorder.importer.import({ media });
    const response = await fetch(`${url}/v1/recordings/${recording.id}/media/original`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    // Without cutting open connections this await lasts as long as the client keeps reading (here: until
    // keepAliveTimeout, 72 s, past the test's timeout).
    await server.close();
    // The response either finished within the grace second or was cut: the client is not left hanging.
    const rest = (async () => {
      for (;;) if ((await reader.read()).done) return 'ended';
    })();
    expect(['ended', 'cut']).toContain(await rest.catch(() => 'cut'));
  });
});
