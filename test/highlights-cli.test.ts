import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/main.js';
import { loadConfig } from '../core/config.js';
import { LivefxServer } from '../server/livefx-server.js';
import { highlightShowEvents, makeHighlightShow, PEAKS } from './helpers/highlight-fixture.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { ADMIN_TOKEN, adminFetch as fetch } from './helpers/livefx-process.js';

const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };

let scratch: string;
let showFile: string;
let eventsFile: string;
/** A fake ffmpeg (a wedged child cannot be produced on demand): hangs in the scene-cut pass, else runs the real one. */
let hangingFfmpeg: string;

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
  hangingFfmpeg = path.join(scratch, 'ffmpeg-hanging-in-scdet');
  await writeFile(hangingFfmpeg, '#!/bin/sh\ncase "$*" in *scdet*) exec sleep 600;; esac\nexec ffmpeg "$@"\n');
  await chmod(hangingFfmpeg, 0o755);
}, 60_000);

/** A real server on its own data directory with the show imported. */
async function servedShow(name: string, env: Record<string, string>): Promise<{ server: LivefxServer; url: string; recordingId: string; dataDir: string }> {
  const dataDir = path.join(scratch, name);
  const server = new LivefxServer({ config: loadConfig({ HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: dataDir, LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN, ...env }), log: pino({ level: 'silent' }) });
  const { url } = await server.start();
  const recording = await server.recorder.importer.import({ media: showFile, events: highlightShowEvents() });
  return { server, url, recordingId: recording.id, dataDir };
}

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('livefx highlights', () => {
  it('imports a video with its events and prints the result object with local file paths', async () => {
    const dataDir = path.join(scratch, 'local');
    const run = await livefx(['highlights', showFile, '--events', eventsFile, '-k', '3', '--json'], { LIVEFX_DATA_DIR: dataDir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/highlights 100% +done in /);
    const result = JSON.parse(run.stdout);
    for (const peak of PEAKS) expect(result.clips.some((clip: any) => clip.start <= peak && peak <= clip.end)).toBe(true);
    for (const clip of result.clips) expect(existsSync(clip.file)).toBe(true);
    expect(existsSync(result.reel.file)).toBe(true);
    expect(result.provenance.aiEdited).toBe(true);
  });

  it('runs the job on the server named by LIVEFX_URL', async () => {
    const { server, url, recordingId, dataDir } = await servedShow('served', {});
    try {
      const run = await livefx(['highlights', recordingId, '-k', '2', '--json'], { LIVEFX_DATA_DIR: dataDir, LIVEFX_URL: url, LIVEFX_TOKEN: ADMIN_TOKEN });
      expect(run.code, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout);
      expect(result.clips.length).toBe(2);
      expect(result.clips[0].file).toMatch(new RegExp(`^${url}/v1/video/highlights/[^/]+/files/clip-1\\.mp4$`));
      const reel = await fetch(result.reel.file, { headers: AUTH });
      expect(reel.status).toBe(200);
      expect((await reel.arrayBuffer()).byteLength).toBeGreaterThan(1000);
      const listed = await (await fetch(`${url}/v1/video/highlights`, { headers: AUTH })).json();
      expect(listed.jobs.length).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('fails the job naming the stage when a server ffmpeg child stops making progress', async () => {
    const { server, url, recordingId, dataDir } = await servedShow('stalled-child', { LIVEFX_FFMPEG: hangingFfmpeg, LIVEFX_HIGHLIGHT_STALL_S: '1' });
    try {
      const run = await livefx(['highlights', recordingId, '-k', '2'], { LIVEFX_DATA_DIR: dataDir, LIVEFX_URL: url, LIVEFX_TOKEN: ADMIN_TOKEN });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/failed: highlights stage "analysing \(scene cuts, still picture\)" stopped: ffmpeg-hanging-in-scdet made no progress for [\d.]+ s and was killed/);
    } finally {
      await server.close();
    }
  });

  it('gives up waiting, with a clear message, when the server job shows no progress', async () => {
    const { server, url, recordingId, dataDir } = await servedShow('stalled-poll', { LIVEFX_FFMPEG: hangingFfmpeg, LIVEFX_HIGHLIGHT_STALL_S: '600' });
    try {
      const run = await livefx(['highlights', recordingId, '-k', '2'], { LIVEFX_DATA_DIR: dataDir, LIVEFX_URL: url, LIVEFX_TOKEN: ADMIN_TOKEN, LIVEFX_HIGHLIGHT_POLL_STALL_S: '2' });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/highlights job [\w-]+ made no progress for 2 s \(still running at \d+% "analysing"\)/);
      expect(run.stderr).toContain('The job stays on the server');
      const [job] = (await (await fetch(`${url}/v1/video/highlights`, { headers: AUTH })).json()).jobs;
      expect(job.status).toBe('running');
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
