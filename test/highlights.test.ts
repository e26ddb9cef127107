import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { ffmpegChildren, waitFor, adminFetch as fetch, ADMIN_TOKEN } from './helpers/livefx-process.js';
import { loadConfig } from '../core/config.js';
import { LivefxServer } from '../server/livefx-server.js';
import { DEAD_AIR, highlightShowEvents, makeHighlightShow, PEAKS, SCENE_CUTS, SHOW_S, SPAM_AT } from './helpers/highlight-fixture.js';

let scratch: string;
let dataDir: string;
let server: LivefxServer;
let url: string;
let showFile: string;
let recordingId: string;

async function startServer(): Promise<void> {
  server = new LivefxServer({ config: loadConfig({ HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: dataDir, LIVEFX_LOG_LEVEL: 'silent', LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN }), log: pino({ level: 'silent' }) });
  url = (await server.start()).url;
}

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${route}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function importShow(title: string): Promise<string> {
  const recording = await server.recorder.importer.import({ media: showFile, events: highlightShowEvents(), title });
  return recording.id;
}

/** Posts a job and waits for it to finish; returns the GET view. */
async function runJob(request: Record<string, unknown>, timeoutMs = 60_000): Promise<any> {
  const posted = await api('POST', '/v1/video/highlights', request);
  expect(posted.status, JSON.stringify(posted.body)).toBe(202);
  expect(posted.body.status).toBe('queued');
  return finished(posted.body.id, timeoutMs);
}

async function finished(id: string, timeoutMs = 60_000): Promise<any> {
  return waitFor(
    `job ${id} finished`,
    async () => {
      const view = (await api('GET', `/v1/video/highlights/${id}`)).body;
      return ['done', 'failed', 'cancelled'].includes(view.status) ? view : undefined;
    },
    timeoutMs,
    200,
  );
}

async function download(route: string, name: string): Promise<{ file: string; response: Response; bytes: Buffer }> {
  const response = await fetch(`${url}${route}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  const file = path.join(scratch, name);
  await writeFile(file, bytes);
  return { file, response, bytes };
}

function probe(file: string): { duration: number; chapters: { start: number; end: number; title: string }[]; comment: string | undefined } {
  const result = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:format_tags=comment', '-show_chapters', '-of', 'json', file], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  const parsed = JSON.parse(result.stdout) as { format: { duration: string; tags?: { comment?: string } }; chapters: { start_time: string; end_time: string; tags: { title: string } }[] };
  return {
    duration: Number(parsed.format.duration),
    chapters: parsed.chapters.map((chapter) => ({ start: Number(chapter.start_time), end: Number(chapter.end_time), title: chapter.tags.title })),
    comment: parsed.format.tags?.comment,
  };
}

/** The result without what may differ between runs: creation times and the job's own id in file URLs. */
function comparable(view: any): unknown {
  const text = JSON.stringify(view.result).replaceAll(view.id, '<job>');
  const copy = JSON.parse(text);
  delete copy.provenance.createdAt;
  return copy;
}

const overlaps = (clip: { start: number; end: number }, start: number, end: number): boolean => clip.start < end && start < clip.end;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-highlights-'));
  dataDir = path.join(scratch, 'data');
  showFile = await makeHighlightShow(scratch);
  await startServer();
  recordingId = await importShow('synthetic show');
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('POST /v1/video/highlights refuses bad requests clearly', () => {
  it.each([
    [{}, 400, 'recording_id'],
    [{ recording_id: 'x', k: 0 }, 400, 'k:'],
    [{ recording_id: 'x', k: 'five' }, 400, 'k:'],
    [{ recording_id: 'x', strategy: 'random' }, 400, 'strategy:'],
    [{ recording_id: 'x', min_clip_s: 30, max_clip_s: 20 }, 400, 'max_clip_s:'],
    [{ recording_id: 'x', captions: 'yes' }, 400, 'captions:'],
    [{ recording_id: 'x', strategy: 'keywords' }, 400, 'keywords:'],
    [{ recording_id: 'x', colour: 'red' }, 400, 'colour'],
    [{ recording_id: 'no-such-recording' }, 404, 'no-such-recording'],
  ])('%j → %i naming %s', async (body, status, named) => {
    const response = await api('POST', '/v1/video/highlights', body);
    expect(response.status).toBe(status);
    expect(response.body.error.message).toContain(named);
    expect(response.body.error.code).toBe(status === 404 ? 'recording_not_found' : 'invalid_request');
  });

  it('refuses a recording still in progress with 409, and unknown jobs, files and clips with 404', async () => {
    const now = new Date().toISOString();
    await server.recorder.catalog.create({ id: 'live-one', streamId: 'some-stream', title: 'live', state: 'recording', startedAt: now, endedAt: null, durationS: 0 });
    const live = await api('POST', '/v1/video/highlights', { recording_id: 'live-one' });
    expect(live.status).toBe(409);
    expect(live.body.error.code).toBe('recording_in_progress');
    await server.recorder.catalog.delete('live-one');
    expect((await api('GET', '/v1/video/highlights/nope')).status).toBe(404);
    expect((await api('DELETE', '/v1/video/highlights/nope')).status).toBe(404);
    expect((await api('PATCH', '/v1/video/highlights/nope/clips/1', { review: 'approved' })).status).toBe(404);
  });
});

describe('engagement_topk on a synthetic show', () => {
  let first: any;

  it('picks the planted peaks, never the spam decoy, and keeps dead air out', async () => {
    first = await runJob({ recording_id: recordingId });
    expect(first.status, first.error).toBe('done');
    expect(first.progress).toBe(1);
    const clips = first.result.clips as any[];
    expect(clips.length).toBeGreaterThanOrEqual(2);
    for (const peak of PEAKS) expect(clips.some((clip) => clip.start <= peak && peak <= clip.end), `a clip covers ${peak} s: ${JSON.stringify(clips)}`).toBe(true);
    expect(clips.some((clip) => clip.start <= SPAM_AT && SPAM_AT <= clip.end), 'no clip at the spam decoy').toBe(false);
    // Half a second of slack: silencedetect and freezedetect edges are not frame-exact.
    for (const clip of clips) expect(overlaps(clip, DEAD_AIR[0] + 0.5, DEAD_AIR[1] - 0.5), `clip ${clip.rank} keeps out of the dead air`).toBe(false);
    for (const [index, clip] of clips.entries()) {
      expect(clip.rank).toBe(index + 1);
      expect(clip.review).toBe('pending');
      expect(clip.end - clip.start).toBeGreaterThanOrEqual(10 - 0.5);
      expect(clip.end - clip.start).toBeLessThanOrEqual(45 + 0.5);
      for (const other of clips.slice(index + 1)) expect(overlaps(clip, other.start, other.end)).toBe(false);
    }
    expect(clips.map((clip) => clip.score)).toEqual([...clips.map((clip) => clip.score)].sort((a, b) => b - a));
    const around20 = clips.find((clip) => clip.start <= 20 && 20 <= clip.end);
    expect(around20.reasons[0]).toMatch(/^chat from 1\d people$/);
    expect(around20.reasons).toContain('30 reactions');
    const around70 = clips.find((clip) => clip.start <= 70 && 70 <= clip.end);
    expect(around70.reasons).toContain('viewers +12');
  });

  it('splits chapters within 1 s of the scene cuts, titled from the transcript', async () => {
    const chapters = first.result.chapters as { start: number; end: number; title: string }[];
    const inner = chapters.slice(1).map((chapter) => chapter.start);
    expect(inner.length).toBe(SCENE_CUTS.length);
    for (const [index, cut] of SCENE_CUTS.entries()) expect(Math.abs(inner[index]! - cut)).toBeLessThanOrEqual(1);
    expect(chapters[0]!.start).toBe(0);
    expect(Math.abs(chapters[chapters.length - 1]!.end - SHOW_S)).toBeLessThanOrEqual(0.5);
    expect(chapters[0]!.title).toBe('What a goal, that was amazing.');
    expect(chapters[1]!.title).toBe('Now the second half begins.');
    const text = await (await fetch(`${url}${first.result.chaptersText}`)).text();
    expect(text.split('\n')[0]).toBe('00:00 What a goal, that was amazing.');
    expect(text).toContain('00:25 Now the second half begins.');
    // The same chapters for the full recording's export (ffmpeg -map_chapters).
    const metadata = await (await fetch(`${url}/v1/video/highlights/${first.id}/files/chapters.ffmetadata`)).text();
    expect(metadata.startsWith(';FFMETADATA1')).toBe(true);
    expect(metadata.match(/\[CHAPTER\]/g)?.length).toBe(chapters.length);
  });

  it('writes clips, thumbnails, captions and a chaptered reel that ffprobe reads with the reported durations', async () => {
    const clips = first.result.clips as any[];
    let sum = 0;
    for (const clip of clips) {
      const { file, response } = await download(clip.file, `clip-${clip.rank}.mp4`);
      expect(response.headers.get('content-type')).toBe('video/mp4');
      const probed = probe(file);
      expect(Math.abs(probed.duration - (clip.end - clip.start)), `clip ${clip.rank} lasts ${probed.duration} s`).toBeLessThanOrEqual(0.5);
      sum += probed.duration;
      const thumbnail = await download(clip.thumbnail, `clip-${clip.rank}.jpg`);
      expect(thumbnail.response.headers.get('content-type')).toBe('image/jpeg');
      expect(thumbnail.bytes.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    }
    const withSpeech = clips.find((clip) => clip.start <= 15 && 16 <= clip.end);
    expect(withSpeech.captions).toMatch(/\.vtt$/);
    const vtt = await (await fetch(`${url}${withSpeech.captions}`)).text();
    expect(vtt.startsWith('WEBVTT')).toBe(true);
    expect(vtt).toContain('What a goal, that was amazing.');

    const reel = await download(first.result.reel.file, 'reel.mp4');
    const probed = probe(reel.file);
    expect(Math.abs(probed.duration - first.result.reel.duration)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(probed.duration - sum)).toBeLessThanOrEqual(0.5);
    expect(probed.chapters.length).toBe(clips.length);
    expect(probed.chapters[0]!.start).toBe(0);

    const ranged = await fetch(`${url}${first.result.reel.file}`, { headers: { range: 'bytes=0-99' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).length).toBe(100);
    expect((await fetch(`${url}/v1/video/highlights/${first.id}/files/..%2Flivefx.db`)).status).toBe(404);
  });

  it('puts provenance beside every output and into the MP4 metadata', async () => {
    const media = readFileSync(path.join(dataDir, 'recordings', recordingId, 'original.mp4'));
    const sha256 = createHash('sha256').update(media).digest('hex');
    const { provenance } = first.result;
    expect(provenance).toMatchObject({ aiEdited: true, strategy: 'engagement_topk', seed: 42, source: { recordingId, sha256 } });
    expect(provenance.versions.ffmpeg).toMatch(/^ffmpeg version/);
    expect(provenance.versions.livefx).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    expect(provenance.versions.asr).toBeTruthy();
    for (const route of [first.result.clips[0].file, first.result.clips[0].thumbnail, first.result.reel.file, first.result.chaptersText]) {
      const beside = await api('GET', `${route}.provenance.json`);
      expect(beside.status, route).toBe(200);
      expect(beside.body).toMatchObject({ aiEdited: true, source: { recordingId, sha256 }, parameters: { k: 5, min_clip_s: 10, max_clip_s: 45 } });
    }
    const comment = probe(path.join(scratch, 'clip-1.mp4')).comment;
    expect(JSON.parse(comment!)).toMatchObject({ aiEdited: true, source: { recordingId, sha256 } });
  });

  it('gives the identical result for the same recording, parameters and seed', async () => {
    const second = await runJob({ recording_id: recordingId });
    expect(second.status).toBe('done');
    expect(comparable(second)).toEqual(comparable(first));
  });

  it('reviews clips and re-renders the reel from the approved ones, trimmed', async () => {
    const [one, two] = first.result.clips as any[];
    expect((await api('PATCH', `/v1/video/highlights/${first.id}/clips/99`, { review: 'approved' })).status).toBe(404);
    const bad = await api('PATCH', `/v1/video/highlights/${first.id}/clips/1`, { review: 'maybe' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('review');
    expect((await api('POST', `/v1/video/highlights/${first.id}/reel`)).status).toBe(409);
    expect((await api('PATCH', `/v1/video/highlights/${first.id}/clips/1`, { review: 'approved' })).body.result.clips[0].review).toBe('approved');
    const trimmedEnd = Math.round((two.end - 3) * 1000) / 1000;
    const patched = await api('PATCH', `/v1/video/highlights/${first.id}/clips/2`, { review: 'approved', end: trimmedEnd });
    expect(patched.body.result.clips[1]).toMatchObject({ review: 'approved', end: trimmedEnd });
    const posted = await api('POST', `/v1/video/highlights/${first.id}/reel`);
    expect(posted.status).toBe(202);
    const reelJob = await finished(posted.body.id);
    expect(reelJob.status, reelJob.error).toBe('done');
    const after = (await api('GET', `/v1/video/highlights/${first.id}`)).body;
    const expected = after.result.clips[0].end - after.result.clips[0].start + (after.result.clips[1].end - after.result.clips[1].start);
    expect(Math.abs(after.result.reel.duration - expected)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(after.result.clips[1].end - trimmedEnd)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(after.result.reel.duration - (one.end - one.start + (two.end - 3 - two.start)))).toBeLessThanOrEqual(0.6);
    const reel = await download(after.result.reel.file, 'reel-approved.mp4');
    expect(probe(reel.file).chapters.length).toBe(2);
  });

  it('keeps a trim saved while the reel re-renders (the render does not overwrite it)', async () => {
    const current = (await api('GET', `/v1/video/highlights/${first.id}`)).body.result.clips as any[];
    const firstTrim = Math.round((current[0].end - 1) * 1000) / 1000;
    expect((await api('PATCH', `/v1/video/highlights/${first.id}/clips/1`, { review: 'approved', end: firstTrim })).status).toBe(200);
    const posted = await api('POST', `/v1/video/highlights/${first.id}/reel`);
    expect(posted.status).toBe(202);
    // Saved right after the render started from the first trim.
    const laterTrim = Math.round((current[0].end - 2) * 1000) / 1000;
    expect((await api('PATCH', `/v1/video/highlights/${first.id}/clips/1`, { review: 'approved', end: laterTrim })).status).toBe(200);
    const reelJob = await finished(posted.body.id);
    expect(reelJob.status, reelJob.error).toBe('done');
    const after = (await api('GET', `/v1/video/highlights/${first.id}`)).body.result.clips as any[];
    expect(after[0].end, 'the later trim survives the render').toBe(laterTrim);
    // The next render cuts the later trim.
    const again = await finished((await api('POST', `/v1/video/highlights/${first.id}/reel`)).body.id);
    expect(again.status, again.error).toBe('done');
    const final = (await api('GET', `/v1/video/highlights/${first.id}`)).body.result;
    expect(Math.abs(final.clips[0].end - laterTrim)).toBeLessThanOrEqual(0.5);
    const expected = final.clips[0].end - final.clips[0].start + (final.clips[1].end - final.clips[1].start);
    expect(Math.abs(final.reel.duration - expected)).toBeLessThanOrEqual(0.5);
  });
});

/** Mean absolute difference of two gray frames' rows [from, to) (320 px wide). */
function rowDifference(a: Buffer, b: Buffer, from: number, to: number): number {
  let sum = 0;
  for (let index = from * 320; index < to * 320; index++) sum += Math.abs(a[index]! - b[index]!);
  return sum / ((to - from) * 320);
}

function grayFrame(file: string, at: number): Buffer {
  const result = spawnSync('ffmpeg', ['-v', 'error', '-ss', at.toFixed(3), '-i', file, '-frames:v', '1', '-vf', 'scale=320:180,format=gray', '-f', 'rawvideo', 'pipe:1'], { maxBuffer: 1 << 24 });
  expect(result.status, result.stderr.toString()).toBe(0);
  return result.stdout;
}

describe('final quality', () => {
  it('re-encodes frame-exact clips with burned-in captions and crossfades the reel', async () => {
    const view = await runJob({ recording_id: recordingId, quality: 'final', captions: 'burn', k: 2 });
    expect(view.status, view.error).toBe('done');
    const clips = view.result.clips as any[];
    expect(clips.length).toBe(2);
    let sum = 0;
    for (const clip of clips) {
      const { file } = await download(clip.file, `final-${clip.rank}.mp4`);
      const duration = probe(file).duration;
      expect(Math.abs(duration - (clip.end - clip.start))).toBeLessThanOrEqual(0.1);
      sum += duration;
    }
    const reel = await download(view.result.reel.file, 'final-reel.mp4');
    const probed = probe(reel.file);
    expect(Math.abs(probed.duration - (sum - 0.5))).toBeLessThanOrEqual(0.3);
    expect(probed.chapters.length).toBe(2);
    // While "What a goal" is spoken, the bottom of the picture carries the caption; the top matches the source.
    const spoken = clips.find((clip) => clip.start <= 15 && 15.5 <= clip.end);
    const clipFrame = grayFrame(path.join(scratch, `final-${spoken.rank}.mp4`), 15.2 - spoken.start);
    const sourceFrame = grayFrame(showFile, 15.2);
    expect(rowDifference(clipFrame, sourceFrame, 0, 60)).toBeLessThan(6);
    expect(rowDifference(clipFrame, sourceFrame, 140, 180)).toBeGreaterThan(8);
    expect(view.result.notes.join(' ')).not.toContain('needs quality');
  });
});

describe('keywords strategy', () => {
  it('makes a clip around the transcript mention', async () => {
    const view = await runJob({ recording_id: recordingId, strategy: 'keywords', keywords: ['giveaway'], k: 3 });
    expect(view.status, view.error).toBe('done');
    expect(view.result.clips.length).toBe(1);
    const [clip] = view.result.clips;
    expect(clip.start).toBeLessThanOrEqual(64);
    expect(clip.end).toBeGreaterThanOrEqual(66);
    expect(clip.reasons[0]).toBe('1 mention of "giveaway"');
    const none = await runJob({ recording_id: recordingId, strategy: 'keywords', keywords: ['never said'] });
    expect(none.status).toBe('done');
    expect(none.result.clips).toEqual([]);
    expect(none.result.reel).toBeNull();
  });
});

describe('jobs', () => {
  it('cancel kills the running job’s ffmpeg and deletes its outputs', async () => {
    // A fresh import has no cached analysis, so the job spends a while in ffmpeg.
    const fresh = await importShow('to cancel');
    const posted = await api('POST', '/v1/video/highlights', { recording_id: fresh });
    await waitFor('the job analysing in ffmpeg', async () => ((await ffmpegChildren(process.pid)).length > 0 ? true : undefined), 20_000, 20);
    const cancelled = await api('DELETE', `/v1/video/highlights/${posted.body.id}`);
    expect(cancelled.body).toEqual({ id: posted.body.id, status: 'cancelled' });
    await waitFor('no ffmpeg left', async () => ((await ffmpegChildren(process.pid)).length === 0 ? true : undefined), 5_000, 50);
    const view = (await api('GET', `/v1/video/highlights/${posted.body.id}`)).body;
    expect(view.status).toBe('cancelled');
    expect(existsSync(path.join(dataDir, 'highlights', posted.body.id))).toBe(false);
    // The queue goes on: the next job runs.
    const next = await runJob({ recording_id: recordingId, k: 1 });
    expect(next.status).toBe('done');
    // Deleting a finished job removes it.
    expect((await api('DELETE', `/v1/video/highlights/${next.id}`)).body.status).toBe('deleted');
    expect((await api('GET', `/v1/video/highlights/${next.id}`)).status).toBe(404);
    expect(existsSync(path.join(dataDir, 'highlights', next.id))).toBe(false);
  });

  it('survive a server restart: a running job runs again from scratch, a queued one runs after it', async () => {
    const fresh = await importShow('restarted');
    const running = await api('POST', '/v1/video/highlights', { recording_id: fresh });
    const queued = await api('POST', '/v1/video/highlights', { recording_id: recordingId, k: 2 });
    await waitFor('the first job running', async () => ((await api('GET', `/v1/video/highlights/${running.body.id}`)).body.status === 'running' ? true : undefined), 20_000, 20);
    await server.close();
    await startServer();
    const first = await finished(running.body.id);
    expect(first.status, first.error).toBe('done');
    expect(first.result.clips.length).toBeGreaterThanOrEqual(2);
    const second = await finished(queued.body.id);
    expect(second.status).toBe('done');
    expect(second.result.clips.length).toBe(2);
    const listed = await readFile(path.join(dataDir, 'highlights', first.id, 'chapters.txt'), 'utf8');
    expect(listed.startsWith('00:00 ')).toBe(true);
  });
});
