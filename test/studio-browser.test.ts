import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAfterTests } from './helpers/test-lifecycle.js';
import { launchChromium } from './helpers/chromium.js';
import { ADMIN_TOKEN, startServer, type RunningServer } from './helpers/livefx-process.js';
import { openIsolatedPage } from './helpers/browser-pages.js';
import { adminApi, importStudioShows, SHOW_S, type StudioRecording } from './studio-browser-fixture.js';

let scratch: string;
let server: RunningServer;
let browser: Browser;
let recordings: StudioRecording[];
const pageErrors: string[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-studio-'));
  [server, browser] = await Promise.all([startServer({ LIVEFX_LOG_LEVEL: 'warn' }), launchChromium()]);
  recordings = await importStudioShows(server.url, scratch);
}, 60_000);

afterAll(() => closeAfterTests({ browser, server, scratch }));

describe('GET /v1/recordings/:id/frame (the storyboard thumbnails)', () => {
  it('answers a JPEG of the frame at t, the same bytes again from its cache, scaled to the width asked', async () => {
    const [first] = recordings;
    const route = `${server.url}/v1/recordings/${first!.id}/frame?t=3.5`;
    const response = await fetch(route, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    const jpeg = Buffer.from(await response.arrayBuffer());
    expect(jpeg.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    const again = Buffer.from(await (await fetch(route, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).arrayBuffer());
    expect(again.equals(jpeg)).toBe(true);
    // An <img> cannot send headers: the page's ?token= works too.
    const byLink = await fetch(`${route}&token=${ADMIN_TOKEN}`);
    expect(byLink.status).toBe(200);
    expect(Buffer.from(await byLink.arrayBuffer()).equals(jpeg)).toBe(true);
    // SOF0 carries the size: 128 wide asked, 72 high (16:9).
    const small = Buffer.from(await (await fetch(`${route}&width=128`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).arrayBuffer());
    const sof = small.indexOf(Buffer.from([0xff, 0xc0]));
    expect(sof).toBeGreaterThan(0);
    expect({ height: small.readUInt16BE(sof + 5), width: small.readUInt16BE(sof + 7) }).toEqual({ width: 128, height: 72 });
  });

  it('refuses a time past the end, a missing time, an unknown recording and a caller without a token, each saying why', async () => {
    const id = recordings[0]!.id;
    const past = await adminApi(server.url, 'GET', `/v1/recordings/${id}/frame?t=${SHOW_S + 50}`);
    expect(past.status).toBe(400);
    expect(past.body.error).toMatchObject({ code: 'invalid_query' });
    expect(past.body.error.message).toMatch(/^t: 66 s is past the end of the recording \(16(\.\d+)? s\)$/);
    const missing = await adminApi(server.url, 'GET', `/v1/recordings/${id}/frame`);
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain('t: is required');
    const wide = await adminApi(server.url, 'GET', `/v1/recordings/${id}/frame?t=1&width=5000`);
    expect(wide.status).toBe(400);
    expect(wide.body.error.message).toBe('width: must be at most 1280');
    const unknown = await adminApi(server.url, 'GET', '/v1/recordings/no-such-recording/frame?t=1');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('recording_not_found');
    expect((await fetch(`${server.url}/v1/recordings/${id}/frame?t=1`)).status).toBe(401);
  });
});

describe('/studio page', () => {
  it('asks to sign in without a token, and says why a bad token is refused', async () => {
    const page = await openIsolatedPage(browser, server.url, '/studio', pageErrors);
    await expect.poll(() => page.getByTestId('studio-signin').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await page.getByTestId('studio-auth-error').textContent()).toBe('Not signed in.');
    expect(await page.getByTestId('studio-plan-card').isVisible()).toBe(false);
    expect(await page.getByTestId('studio-render-card').isVisible()).toBe(false);
    // A token typed into the box is tried first: refused, the page stays and says why.
    await page.getByTestId('studio-token-input').fill('not-a-real-token-at-all');
    await page.getByTestId('studio-signin-form').locator('button').click();
    await expect.poll(() => page.getByTestId('studio-auth-error').textContent(), { timeout: 10_000 }).toBe('the token is not valid or was revoked (invalid_token)');
    expect(await page.getByTestId('studio-plan-card').isVisible()).toBe(false);
    // A good one signs this tab in.
    await page.getByTestId('studio-token-input').fill(ADMIN_TOKEN);
    await page.getByTestId('studio-signin-form').locator('button').click();
    await expect.poll(() => page.getByTestId('studio-plan-card').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(page.url(), 'the token is taken out of the address bar').not.toContain('token=');
    await page.reload();
    await expect.poll(() => page.getByTestId('studio-recording').count(), { timeout: 10_000 }).toBe(recordings.length);
    await page.context().close();
  });

  it('signed in as admin, lists the finished recordings to pick from and takes the token out of the address bar', async () => {
    const page = await openIsolatedPage(browser, server.url, `/studio?token=${ADMIN_TOKEN}`, pageErrors);
    await expect.poll(() => page.getByTestId('studio-recording').count(), { timeout: 10_000 }).toBe(recordings.length);
    expect(page.url()).not.toContain(ADMIN_TOKEN);
    expect(await page.getByTestId('studio-signed-in-as').textContent()).toMatch(/^admin/);
    const listed = await page.getByTestId('studio-recording').evaluateAll((items) => items.map((item) => ({ id: (item as HTMLElement).dataset.id, text: item.textContent })));
    for (const recording of recordings) expect(listed.find((item) => item.id === recording.id)?.text).toContain(recording.title);
    expect(await page.getByTestId('studio-signin').isVisible()).toBe(false);
    expect(await page.getByTestId('studio-storyboard').isVisible(), 'no storyboard before planning').toBe(false);
    expect(await page.getByTestId('studio-render-preview').isDisabled()).toBe(true);
    await page.context().close();
  });

  it('shows the API\'s refusal when planning fails, and asks for a prompt before sending an empty one', async () => {
    const page = await openIsolatedPage(browser, server.url, `/studio?token=${ADMIN_TOKEN}`, pageErrors);
    await expect.poll(() => page.getByTestId('studio-recording').count(), { timeout: 10_000 }).toBe(recordings.length);
    await page.getByTestId('studio-plan').click();
    expect(await page.getByTestId('studio-error').textContent()).toMatch(/^Type a prompt first/);
    // 21 shots is over the contract's limit: whatever the server answers, the page shows its message and code.
    const prompt = '30s recap of the garden hour and the weekend plans, warm look';
    const refused = await adminApi(server.url, 'POST', '/v1/video/storyboards', { prompt, sources: { recording_ids: [recordings[0]!.id] }, shots: 21 });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    await page.getByTestId('studio-recording-check').first().check();
    await page.getByTestId('studio-prompt').fill(prompt);
    await page.getByTestId('studio-shots').fill('21');
    await page.getByTestId('studio-plan').click();
    await expect
      .poll(() => page.getByTestId('studio-error').textContent(), { timeout: 10_000 })
      .toBe(`Planning failed: ${refused.body.error.message} (${refused.body.error.code})`);
    expect(await page.getByTestId('studio-storyboard').isVisible()).toBe(false);
    expect(await page.getByTestId('studio-plan').isEnabled(), 'the button is back for another try').toBe(true);
    await page.context().close();
  });

  it('had no uncaught errors in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
