import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStream, startServer, waitFor, type RunningServer } from './helpers/livefx-process.js';
import { AUTH, rawRequest } from './fuzz/fuzz-harness.js';

let server: RunningServer;
let replacer: ChildProcess | undefined;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  replacer?.kill('SIGKILL');
  await server?.stop();
});

/** Two playlists of very different lengths, as a live window of short and long segment names would give. */
const SHORT = '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.000,\nsegment-1.ts\n';
const LONG = `#EXTM3U\n#EXT-X-TARGETDURATION:1\n${Array.from({ length: 200 }, (_, index) => `#EXTINF:1.000,\nsegment-${1_000_000 + index}.ts\n`).join('')}`;

/** One GET on its own connection: the answer, or the client's parse error as a problem. */
const get = (url: string, id: string) =>
  rawRequest(url, 'GET', `/hls/${id}/index.m3u8`, { headers: AUTH }).catch((error: Error) => ({ error: error.message }));

describe('HLS files from the stream folder', () => {
  it('sends a playlist the muxer keeps replacing (write aside, rename over) whole, with the Content-Length of the bytes sent', async () => {
    const stream = await createStream(server.url, 'replaced playlist', { record: false });
    const dir = path.join(server.dataDir, 'hls', stream.id);
    await mkdir(dir, { recursive: true });
    // ffmpeg's HLS muxer writes index.m3u8.tmp and renames it over index.m3u8 at every segment; this does the same, without pause, in its own process.
    const script = `
      const { writeFileSync, renameSync } = require('node:fs');
      const [dir, short, long] = process.argv.slice(1);
      for (let turn = 0; ; turn++) {
        writeFileSync(dir + '/index.m3u8.tmp', turn % 2 ? long : short);
        renameSync(dir + '/index.m3u8.tmp', dir + '/index.m3u8');
      }`;
    replacer = spawn(process.execPath, ['-e', script, dir, SHORT, LONG], { stdio: 'ignore' });
    await waitFor('the first playlist', () => get(server.url, stream.id).then((answer) => ('status' in answer && answer.status === 200) || undefined), 10_000, 20);

    const problems: string[] = [];
    const seen = new Set<string>();
    let next = 0;
    const total = 600;
    const client = async (): Promise<void> => {
      while (next < total) {
        next++;
        const answer = await get(server.url, stream.id);
        if ('error' in answer) {
          problems.push(`no clean answer: ${answer.error}`);
          continue;
        }
        const body = answer.body.toString('utf8');
        const promised = Number(answer.headers['content-length']);
        if (answer.status !== 200) problems.push(`status ${answer.status}: ${body.slice(0, 200)}`);
        else if (promised !== answer.body.length) problems.push(`Content-Length ${answer.headers['content-length']}, ${answer.body.length} bytes came`);
        else if (body !== SHORT && body !== LONG) problems.push(`a mix of two playlists (${body.length} characters)`);
        else seen.add(body === SHORT ? 'short' : 'long');
      }
    };
    await Promise.all(Array.from({ length: 8 }, client));
    replacer.kill('SIGKILL');
    expect(problems.slice(0, 10), `${problems.length} of ${total} requests`).toEqual([]);
    // Both versions were served: the file really was being replaced while it was read.
    expect([...seen].sort()).toEqual(['long', 'short']);
  }, 60_000);
});
