import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/main.js';
import { loadConfig } from '../server/config.js';
import { LivefxServer } from '../server/livefx-server.js';
import { highlightShowEvents, makeHighlightShow, PEAKS } from './helpers/highlight-fixture.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { ADMIN_TOKEN, adminFetch as fetch } from '../benchmarks/livefx-process.js';

let scratch: string;
let showFile: string;
let eventsFile: string;

/** Runs `livefx …` in this process with captured output. */
async function livefx(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
  stderr.setEncoding('utf8').on('data', (text: string) => (err += text));
  const code = await runCli(args, {
    env: { PATH: process.env.PATH, ...env },
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: stderr as unknown as NodeJS.WriteStream,
    signal: new AbortController().signal,
  });
  return { code, stdout: out, stderr: err };
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-highlights-cli-'));
  showFile = await makeHighlightShow(scratch);
  eventsFile = path.join(scratch, 'events.json');
  await writeFile(eventsFile, JSON.stringify(highlightShowEvents()));
}, 60_000);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('livefx highlights', () => {
  it('imports a video with its events and prints the result object with local file paths', async () => {
    const dataDir = path.join(scratch, 'local');
    const run = await livefx(['highlights', showFile, '--events', eventsFile, '-k', '3', '--json'], { LIVEFX_DATA_DIR: dataDir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('100% done');
    const result = JSON.parse(run.stdout);
    for (const peak of PEAKS) expect(result.clips.some((clip: any) => clip.start <= peak && peak <= clip.end)).toBe(true);
    for (const clip of result.clips) expect(existsSync(clip.file)).toBe(true);
    expect(existsSync(result.reel.file)).toBe(true);
    expect(result.provenance.aiEdited).toBe(true);
  });

  it('runs the job on the server named by LIVEFX_URL', async () => {
    const dataDir = path.join(scratch, 'served');
    const server = new LivefxServer(loadConfig({ HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: dataDir, LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN }), pino({ level: 'silent' }));
    const { url } = await server.start();
    try {
      const recording = await server.recorder.importer.import({ media: showFile, events: highlightShowEvents() });
      const run = await livefx(['highlights', recording.id, '-k', '2', '--json'], { LIVEFX_DATA_DIR: dataDir, LIVEFX_URL: url, LIVEFX_TOKEN: ADMIN_TOKEN });
      expect(run.code, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout);
      expect(result.clips.length).toBe(2);
      expect(result.clips[0].file).toMatch(new RegExp(`^${url}/v1/video/highlights/[^/]+/files/clip-1\\.mp4$`));
      const reel = await fetch(result.reel.file);
      expect(reel.status).toBe(200);
      expect((await reel.arrayBuffer()).byteLength).toBeGreaterThan(1000);
      const listed = await (await fetch(`${url}/v1/video/highlights`)).json();
      expect(listed.jobs.length).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('refuses bad command lines and unknown recordings clearly', async () => {
    const dataDir = path.join(scratch, 'local');
    const badK = await livefx(['highlights', 'whatever', '-k', '0'], { LIVEFX_DATA_DIR: dataDir });
    expect(badK.code).toBe(2);
    expect(badK.stderr).toContain('-k: ');
    const badStrategy = await livefx(['highlights', 'whatever', '--strategy', 'keywords'], { LIVEFX_DATA_DIR: dataDir });
    expect(badStrategy.code).toBe(2);
    expect(badStrategy.stderr).toContain('--keywords');
    const unknown = await livefx(['highlights', 'no-such-recording'], { LIVEFX_DATA_DIR: dataDir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no recording with id "no-such-recording"');
  });
});
