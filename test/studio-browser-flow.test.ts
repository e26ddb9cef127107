// Drives /studio through the whole flow a user takes, against the real planner and compositor:
// prompt → storyboard cards → preview rendered and played → edits saved → final rendered and played.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './helpers/chromium.js';
import { ADMIN_TOKEN, startServer, type RunningServer } from './helpers/livefx-process.js';
import { openIsolatedPage, playVideoInPage, recordJobStatuses, type PlayedVideo } from './helpers/browser-pages.js';
import { adminApi, importStudioShows, type StudioRecording } from './studio-browser-fixture.js';

let scratch: string;
let server: RunningServer;
let browser: Browser;
let page: Page;
let recordings: StudioRecording[];
const pageErrors: string[] = [];

const storyboardOf = async (id: string): Promise<any> => {
  const answer = await adminApi(server.url, 'GET', `/v1/video/storyboards/${id}`);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
};

/** Waits for the page to save an edit, and for it to be stored. */
async function saved(): Promise<void> {
  await expect.poll(() => page.getByTestId('studio-save-status').textContent(), { timeout: 15_000 }).toMatch(/^(saved|not saved)$/);
  expect(await page.getByTestId('studio-edit-error').isVisible(), (await page.getByTestId('studio-edit-error').textContent()) ?? '').toBe(false);
  expect(await page.getByTestId('studio-save-status').textContent()).toBe('saved');
}

/** Renders at a quality from the page and waits until done; resolves to what the page showed on the way. */
async function renderFromPage(button: 'studio-render-preview' | 'studio-render-final', timeoutMs: number): Promise<string[]> {
  await page.evaluate(() => ((window as unknown as { seenStatuses: string[] }).seenStatuses.length = 0));
  await page.getByTestId(button).click();
  // The status still reads the last render's end until this one is shown (a button's change records it again): wait for this render's own end, after its `queued`.
  const lastSeen = (): Promise<string> =>
    page.evaluate(() => {
      const seen = (window as unknown as { seenStatuses: string[] }).seenStatuses;
      return seen.some((entry) => entry.startsWith('queued @')) ? (seen.at(-1) ?? '') : '';
    });
  await expect.poll(lastSeen, { timeout: timeoutMs, interval: 250 }).toMatch(/^(done|failed|cancelled) @ /);
  expect(await page.getByTestId('studio-render-error').isVisible(), (await page.getByTestId('studio-render-error').textContent()) ?? '').toBe(false);
  expect(await page.getByTestId('studio-render-status').textContent()).toBe('done');
  return page.evaluate(() => [...(window as unknown as { seenStatuses: string[] }).seenStatuses]);
}

/** Plays the page's video muted until its clock passes 1 s; resolves to its picture size and clock. */
function playVideo(): Promise<PlayedVideo> {
  return playVideoInPage(page, '[data-testid="studio-video"]', 1, 15_000);
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-studio-flow-'));
  [server, browser] = await Promise.all([startServer({ LIVEFX_LOG_LEVEL: 'warn' }), launchChromium()]);
  recordings = await importStudioShows(server.url, scratch);
  page = await openIsolatedPage(browser, server.url, `/studio?token=${ADMIN_TOKEN}`, pageErrors, { viewport: { width: 1400, height: 1000 }, beforeLoad: (opening) => opening.addInitScript(recordJobStatuses, { status: 'studio-render-status', progress: 'studio-progress' }) });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('/studio: prompt → storyboard → preview plays → edit → final plays', () => {
  it('plans a storyboard from the picked recordings and shows each shot as a card', async () => {
    await expect.poll(() => page.getByTestId('studio-recording').count(), { timeout: 10_000 }).toBe(recordings.length);
    for (const check of await page.getByTestId('studio-recording-check').all()) await check.check();
    await page.getByTestId('studio-prompt').fill('16s recap of the garden hour and the weekend plans, warm look');
    await page.getByTestId('studio-shots').fill('3');
    await page.getByTestId('studio-plan').click();
    await expect.poll(() => page.getByTestId('studio-shot').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await page.getByTestId('studio-error').isVisible(), (await page.getByTestId('studio-error').textContent()) ?? '').toBe(false);
    const id = (await page.getByTestId('studio-storyboard-id').textContent())!;
    const stored = await storyboardOf(id);
    // 3 asked; two 16 s shows hold one spoken moment each, and the planner gives the time to the moments it finds.
    expect(stored.shots.length).toBeGreaterThanOrEqual(2);
    expect(stored.shots.length).toBeLessThanOrEqual(3);
    expect(stored.style).toBe('warm');
    const cards = page.getByTestId('studio-shot');
    expect(await cards.count()).toBe(stored.shots.length);
    for (const [index, shot] of (stored.shots as any[]).entries()) {
      const card = cards.nth(index);
      expect(await card.getAttribute('data-kind')).toBe(shot.kind);
      expect(await card.getByTestId('studio-shot-reasons').locator('li').allTextContents()).toEqual(shot.reasons.length > 0 ? shot.reasons : ['no reason given']);
      expect(await card.getByTestId('studio-shot-duration').inputValue()).toBe(String(Math.round(shot.duration * 1000) / 1000));
      expect(await card.getByTestId('studio-shot-text').inputValue()).toBe(shot.text ?? '');
      if (shot.kind !== 'clip') continue;
      expect(recordings.map((recording) => recording.id)).toContain(shot.source.recording_id);
      expect(await card.getByTestId('studio-shot-source').inputValue()).toBe(shot.source.recording_id);
      expect(Number(await card.getByTestId('studio-shot-in').inputValue())).toBeCloseTo(shot.source.in, 2);
      expect(Number(await card.getByTestId('studio-shot-out').inputValue())).toBeCloseTo(shot.source.out, 2);
      // The thumbnail is the recording's frame at the in point, decoded by the browser.
      const thumb = card.getByTestId('studio-shot-thumb');
      expect(await thumb.getAttribute('src')).toContain(`/v1/recordings/${shot.source.recording_id}/frame?t=${shot.source.in.toFixed(1)}`);
      await expect.poll(() => thumb.evaluate((image) => (image as HTMLImageElement).complete && (image as HTMLImageElement).naturalWidth), { timeout: 15_000 }).toBeGreaterThan(0);
    }
    expect((stored.shots as any[]).some((shot) => shot.kind === 'clip'), 'the recordings are used').toBe(true);
    expect((stored.shots as any[]).flatMap((shot) => shot.reasons).length, 'shots say why they were chosen').toBeGreaterThan(0);
  });

  it('renders a preview with progress shown, plays it and shows its provenance', async () => {
    const seen = await renderFromPage('studio-render-preview', 120_000);
    const active = seen.filter((entry) => /^(queued|running) @ /.test(entry));
    expect(active.length, `statuses shown: ${seen.join(', ')}`).toBeGreaterThan(0);
    expect(Number(/ @ ([\d.]+)/.exec(active[0]!)![1]), 'a partial progress bar while rendering').toBeLessThan(1);
    expect(seen[seen.length - 1]).toBe('done @ 1');
    const played = await playVideo();
    expect(played.error).toBeNull();
    expect(played.currentTime).toBeGreaterThan(0.5);
    expect(Math.max(played.width, played.height), 'a preview is at most 640 px on its long side').toBeLessThanOrEqual(640);
    expect(await page.getByTestId('studio-provenance').isVisible()).toBe(true);
    expect(await page.getByTestId('studio-provenance').textContent()).toContain('16s recap of the garden hour');
  });

  it('edits the storyboard: text, order, timing, source and deletion, each saved', async () => {
    const id = (await page.getByTestId('studio-storyboard-id').textContent())!;
    const before = await storyboardOf(id);
    const cards = page.getByTestId('studio-shot');

    await cards.nth(0).getByTestId('studio-shot-text').fill('Weekend recap');
    await cards.nth(0).getByTestId('studio-shot-text').press('Tab');
    await saved();
    expect((await storyboardOf(id)).shots[0].text).toBe('Weekend recap');

    await cards.nth(1).getByTestId('studio-shot-up').click();
    await saved();
    const moved = await storyboardOf(id);
    expect(moved.shots[0].reasons).toEqual(before.shots[1].reasons);
    expect(moved.shots[1].text).toBe('Weekend recap');
    expect(moved.shots.map((shot: any) => shot.index)).toEqual(moved.shots.map((_shot: any, index: number) => index));
    expect(moved.shots[0].start).toBe(0);
    expect(moved.shots[1].start).toBeCloseTo(moved.shots[0].duration, 3);

    const clipIndex = (moved.shots as any[]).findIndex((shot) => shot.kind === 'clip');
    expect(clipIndex).toBeGreaterThanOrEqual(0);
    const clip = moved.shots[clipIndex];
    const clipCard = cards.nth(clipIndex);
    await clipCard.getByTestId('studio-shot-out').fill(String(clip.source.in + 2));
    await clipCard.getByTestId('studio-shot-out').press('Tab');
    await saved();
    const retimed = (await storyboardOf(id)).shots[clipIndex];
    expect(retimed.duration).toBeCloseTo(2, 3);
    expect(retimed.source.out).toBeCloseTo(clip.source.in + 2, 3);

    const other = recordings.find((recording) => recording.id !== clip.source.recording_id)!;
    await clipCard.getByTestId('studio-shot-source').selectOption(other.id);
    await saved();
    expect((await storyboardOf(id)).shots[clipIndex].source.recording_id).toBe(other.id);
    await expect.poll(() => cards.nth(clipIndex).getByTestId('studio-shot-thumb').getAttribute('src')).toContain(`/v1/recordings/${other.id}/frame`);

    const count = await cards.count();
    await cards.nth(count - 1).getByTestId('studio-shot-delete').click();
    await saved();
    expect((await storyboardOf(id)).shots.length).toBe(count - 1);
    await expect.poll(() => cards.count()).toBe(count - 1);

    // Music: the built-in beds are offered (uploads too); "none" takes it away again.
    await page.getByTestId('studio-music').selectOption('calm');
    await saved();
    expect((await storyboardOf(id)).music).toEqual({ track: 'calm', gain_db: -18, duck: true });
    await page.getByTestId('studio-music').selectOption('');
    await saved();
    expect((await storyboardOf(id)).music).toBeUndefined();
    await page.getByTestId('studio-music').selectOption('uplift');
    await saved();
    expect((await storyboardOf(id)).music?.track).toBe('uplift');
  });

  it('renders the final of the edited storyboard, plays it at full size, and says how many shots came from the cache', async () => {
    const id = (await page.getByTestId('studio-storyboard-id').textContent())!;
    const stored = await storyboardOf(id);
    await renderFromPage('studio-render-final', 300_000);
    const played = await playVideo();
    expect(played.error).toBeNull();
    expect(played.currentTime).toBeGreaterThan(0.5);
    const expected = { '16:9': [1920, 1080], '9:16': [1080, 1920], '1:1': [1080, 1080] }[stored.aspect as '16:9' | '9:16' | '1:1'];
    expect([played.width, played.height]).toEqual(expected);
    const summary = (await page.getByTestId('studio-render-summary').textContent())!;
    expect(summary).toMatch(new RegExp(`^${expected[0]}×${expected[1]} · [\\d.]+ s · \\d+ of ${stored.shots.length} shots from the cache$`));
    // The final is the edited storyboard: its length is the edited shots' (one retimed to 2 s, one deleted).
    const editedS = (stored.shots as any[]).reduce((sum, shot) => sum + shot.duration, 0);
    expect(Number(/ · ([\d.]+) s · /.exec(summary)![1])).toBeCloseTo(editedS, 0);
    expect(await page.getByTestId('studio-provenance').textContent()).toContain('16s recap of the garden hour');
  }, 320_000);

  it('had no uncaught errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
