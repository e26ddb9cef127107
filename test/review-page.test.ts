import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAfterTests } from './helpers/test-lifecycle.js';
import { playVideoInPage, recordJobStatuses } from './helpers/browser-pages.js';
import { launchChromium } from './helpers/chromium.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { ADMIN_TOKEN, startServer, waitFor, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';
import { runFfmpeg } from './helpers/ffmpeg-fixtures.js';
import { highlightShowEvents, makeHighlightShow } from './helpers/highlight-fixture.js';

let scratch: string;
let server: RunningServer;
let browser: Browser;
let page: Page;
let jobId: string;
const pageErrors: string[] = [];

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${route}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const job = async (id: string): Promise<any> => (await api('GET', `/v1/video/highlights/${id}`)).body;
const duration = (clip: { start: number; end: number }): number => clip.end - clip.start;
const clock = (seconds: number): string => `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(Math.floor(seconds % 60)).padStart(2, '0')}`;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-review-'));
  const [show] = await Promise.all([makeHighlightShow(scratch), (async () => (browser = await launchChromium()))()]);
  server = await startServer({ LIVEFX_LOG_LEVEL: 'warn', LIVEFX_HIGHLIGHT_CONCURRENCY: '1' });
  // Imported as a user would: the upload form of POST /v1/recordings.
  const form = new FormData();
  form.append('media', new Blob([await readFile(show)], { type: 'video/mp4' }), 'show.mp4');
  form.append('events', JSON.stringify(highlightShowEvents()));
  form.append('title', 'review show');
  const imported = await fetch(`${server.url}/v1/recordings`, { method: 'POST', body: form });
  const recording = (await imported.json()) as { id: string };
  expect(imported.status, JSON.stringify(recording)).toBe(201);
  page = await browser.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.addInitScript(recordJobStatuses, { status: 'job-status', progress: 'job-progress', stage: 'job-stage' });
  // A job ahead in the queue (one at a time), so the reviewed one is still queued or running when the page opens.
  expect((await api('POST', '/v1/video/highlights', { recording_id: recording.id, k: 1 })).status).toBe(202);
  const posted = await api('POST', '/v1/video/highlights', { recording_id: recording.id });
  expect(posted.status, JSON.stringify(posted.body)).toBe(202);
  jobId = posted.body.id;
}, 40_000);

afterAll(() => closeAfterTests({ browser, server, scratch }));

describe('review page /review?job=<id>', () => {
  it('shows the job running with its progress, then every clip in rank order with player, score, reasons, times and captions', async () => {
    await page.goto(`${server.url}/review?job=${jobId}&token=${ADMIN_TOKEN}`);
    await expect.poll(() => page.getByTestId('job-status').textContent(), { timeout: 45_000 }).toBe('done');
    const seen = await page.evaluate(() => (window as unknown as { seenStatuses: string[] }).seenStatuses);
    const active = seen.filter((entry) => /^(queued|running) @ /.test(entry));
    expect(active.length, `statuses shown: ${seen.join(', ')}`).toBeGreaterThan(0);
    expect(Number(/ @ ([\d.]+)/.exec(active[active.length - 1]!)![1]), 'a partial progress bar while running').toBeLessThan(1);
    const running = seen.filter((entry) => entry.startsWith('running @ '));
    for (const entry of running) expect(entry, 'the stage name shown while running').toMatch(/\((exporting|analysing|selecting|cutting clip \d+ of \d+|reel|chapters|starting)\)$/);
    expect(seen[seen.length - 1]).toBe('done @ 1');

    const view = await job(jobId);
    const clips = view.result.clips as any[];
    expect(clips.length).toBeGreaterThanOrEqual(2);
    const cards = page.getByTestId('clip');
    await expect.poll(() => cards.count()).toBe(clips.length);
    for (const [index, clip] of clips.entries()) {
      const card = cards.nth(index);
      expect(await card.getAttribute('data-rank')).toBe(String(clip.rank));
      expect(await card.getByTestId('clip-score').textContent()).toContain(clip.score.toFixed(2));
      expect(await card.getByTestId('clip-reasons').locator('li').allTextContents()).toEqual(clip.reasons);
      expect(await card.getByTestId('clip-times').textContent()).toContain(`${clock(clip.start)}–${clock(clip.end)}`);
      expect(await card.getByTestId('clip-review').textContent()).toBe('pending');
      const video = card.getByTestId('clip-video');
      expect(await video.getAttribute('src')).toContain(clip.file);
      expect(await video.getAttribute('poster')).toContain(clip.thumbnail);
      const track = video.locator('track[kind="captions"]');
      expect(await track.count()).toBe(clip.captions ? 1 : 0);
      if (clip.captions) expect(await track.getAttribute('src')).toContain(clip.captions);
    }
    expect(clips.some((clip) => clip.captions), 'the clip with "What a goal" has a sidecar').toBe(true);
    const chapters = await page.getByTestId('chapters').locator('li').allTextContents();
    expect(chapters).toEqual(view.result.chapters.map((chapter: any) => `${clock(chapter.start)} ${chapter.title}`));
    const provenance = page.getByTestId('provenance');
    expect(await provenance.getAttribute('open')).toBeNull();
    const provenanceText = await provenance.textContent();
    for (const expected of [view.result.provenance.source.recordingId, view.result.provenance.source.sha256, 'engagement_topk', '42', 'AI-edited', 'yes']) expect(provenanceText).toContain(expected);
    expect(await page.getByTestId('reel-video').getAttribute('src')).toContain(view.result.reel.file);
  });

  it('plays a clip', async () => {
    const state = await playVideoInPage(page, '[data-testid="clip"] [data-testid="clip-video"]', 0.5, 10_000);
    expect(state.error).toBeNull();
    expect(state.readyState).toBeGreaterThanOrEqual(2);
    expect(state.currentTime).toBeGreaterThanOrEqual(0.5);
  });

  it('approves, rejects and trims clips on the server, shows bad trims refused, and re-renders the reel from the approved clips', async () => {
    const before = (await job(jobId)).result.clips as any[];
    const first = page.locator('[data-testid="clip"][data-rank="1"]');
    const second = page.locator('[data-testid="clip"][data-rank="2"]');
    await first.getByTestId('clip-approve').click();
    await expect.poll(() => first.getByTestId('clip-review').textContent()).toBe('approved');
    await second.getByTestId('clip-reject').click();
    await expect.poll(() => second.getByTestId('clip-review').textContent()).toBe('rejected');

    // Refused in the page: end before start never reaches the server.
    await second.getByTestId('clip-trim-end').fill(String(before[1].start - 1));
    await second.getByTestId('clip-trim-apply').click();
    await expect.poll(() => second.getByTestId('clip-error').textContent()).toContain('end: must be after start');
    // Refused by the server: past the end of the 100 s recording; its message is shown in place.
    await second.getByTestId('clip-trim-end').fill('9999');
    await second.getByTestId('clip-trim-apply').click();
    await expect.poll(() => second.getByTestId('clip-error').textContent()).toContain('end: the recording lasts');
    expect((await job(jobId)).result.clips[1].end).toBe(before[1].end);

    const trimmedEnd = Math.round((before[0].end - 3) * 10) / 10;
    await first.getByTestId('clip-trim-end').fill(String(trimmedEnd));
    await first.getByTestId('clip-trim-apply').click();
    await expect.poll(async () => (await job(jobId)).result.clips[0].end).toBe(trimmedEnd);
    expect(await first.getByTestId('clip-error').isHidden()).toBe(true);
    const reviewed = (await job(jobId)).result.clips as any[];
    expect(reviewed.slice(0, 2).map((clip) => clip.review)).toEqual(['approved', 'rejected']);

    await page.getByTestId('reel-render').click();
    const reelJob = await waitFor('the reel job id on the page', async () => (await page.getByTestId('reel-status').getAttribute('data-job')) ?? undefined, 5000);
    await expect.poll(() => page.getByTestId('reel-status').textContent(), { timeout: 30_000 }).toBe('done');
    const after = await job(jobId);
    const approved = (after.result.clips as any[]).filter((clip) => clip.review === 'approved');
    expect(approved.map((clip) => clip.rank)).toEqual([1]);
    const expected = approved.reduce((sum, clip) => sum + duration(clip), 0);
    expect(Math.abs(after.result.reel.duration - expected), `reel ${after.result.reel.duration} s, approved ${expected} s`).toBeLessThanOrEqual(1);
    expect(Math.abs(after.result.reel.duration - duration(before[0]))).toBeGreaterThan(1.5);
    await expect.poll(() => page.getByTestId('reel-video').getAttribute('src')).toContain(reelJob);
    expect(await page.getByTestId('reel-duration').textContent()).toBe(`${after.result.reel.duration.toFixed(1)} s`);
    const reelState = await page.evaluate(async () => {
      const video = document.querySelector<HTMLVideoElement>('[data-testid="reel-video"]')!;
      const started = Date.now();
      while (video.readyState < 1 && Date.now() - started < 10_000) await new Promise((resolve) => setTimeout(resolve, 100));
      return video.duration;
    });
    expect(Math.abs(reelState - after.result.reel.duration)).toBeLessThanOrEqual(0.5);
    expect(pageErrors).toEqual([]);
  });

  it('says clearly when the job does not exist', async () => {
    const other = await browser.newPage();
    await other.goto(`${server.url}/review?job=no-such-job&token=${ADMIN_TOKEN}`);
    await expect.poll(() => other.getByTestId('job-status').textContent()).toBe('not found');
    expect(await other.getByTestId('job-error').textContent()).toContain('no highlights job with id "no-such-job"');
    expect(await other.getByTestId('clip').count()).toBe(0);
    await other.close();
  });

  it('says clearly when the job failed', async () => {
    // A VP8-only recording cannot be cut into stream-copy MP4 clips: the job fails with a reason.
    const webm = path.join(scratch, 'vp8.webm');
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc=s=160x90:r=10:d=2', '-c:v', 'libvpx', '-b:v', '200k', webm]);
    const form = new FormData();
    form.append('media', new Blob([await readFile(webm)], { type: 'video/webm' }), 'vp8.webm');
    const imported = (await (await fetch(`${server.url}/v1/recordings`, { method: 'POST', body: form })).json()) as { id: string };
    const posted = await api('POST', '/v1/video/highlights', { recording_id: imported.id });
    const failed = await browser.newPage();
    await failed.goto(`${server.url}/review?job=${posted.body.id}&token=${ADMIN_TOKEN}`);
    await expect.poll(() => failed.getByTestId('job-status').textContent(), { timeout: 20_000 }).toBe('failed');
    expect(await failed.getByTestId('job-error').textContent()).toBe(`the job failed: ${(await job(posted.body.id)).error}`);
    expect(await failed.getByTestId('job-error').textContent()).toContain('VP8');
    expect(await failed.getByTestId('clip').count()).toBe(0);
    await failed.close();
  });
});
