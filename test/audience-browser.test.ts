import { spawnSync } from 'node:child_process';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAfterTests, startServerAndChromium } from './helpers/test-lifecycle.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';
import { joinChat, openIsolatedPage } from './helpers/browser-pages.js';

let server: RunningServer;
let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  ({ server, browser } = await startServerAndChromium());
});

afterAll(() => closeAfterTests({ server, browser }));

const openPage = (url: string): Promise<Page> => openIsolatedPage(browser, server.url, url, pageErrors);

async function say(page: Page, text: string): Promise<void> {
  await page.getByTestId('chat-input').fill(text);
  await page.getByTestId('chat-send').click();
}

const lastMessage = (page: Page) => page.getByTestId('chat-message').last();
const messageTexts = (page: Page): Promise<string[]> => page.locator('[data-testid="chat-message"] .chat-text').allTextContents();
/**
 * Pixels of an element's screenshot that are clearly coloured (channel spread over 80): an icon is;
 * the dark page, the grey labels and the empty box a browser draws for a glyph it has no font for are not.
 */
async function colouredPixels(element: Locator): Promise<number> {
  const png = await element.screenshot();
  const decoded = spawnSync('ffmpeg', ['-v', 'error', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { input: png, maxBuffer: 1 << 24 });
  if (decoded.status !== 0) throw new Error(decoded.stderr.toString());
  let coloured = 0;
  for (let offset = 0; offset + 2 < decoded.stdout.length; offset += 3) {
    const [red, green, blue] = [decoded.stdout[offset]!, decoded.stdout[offset + 1]!, decoded.stdout[offset + 2]!];
    if (Math.max(red, green, blue) - Math.min(red, green, blue) > 80) coloured++;
  }
  return coloured;
}

const reactionCount = async (page: Page, kind: string): Promise<string> => ((await page.locator(`[data-testid="reaction-counts"] [data-kind="${kind}"]`).textContent()) ?? '').trim();

describe('browser: audience chat and reactions', () => {
  it('two viewers chat, the operator and publish pages follow, reactions are counted everywhere, markup stays text, a flood is told to slow down', async () => {
    const stream = await createStream(server.url, 'audience');
    const alice = await openPage(stream.urls.watch!);
    const bob = await openPage(stream.urls.watch!);
    const operator = await openPage(stream.urls.operator!);

    // Before joining only the name prompt shows; a blank name is refused in the panel.
    expect(await alice.getByTestId('chat-input').isVisible()).toBe(false);
    expect(await alice.getByTestId('react-like').isDisabled()).toBe(true);
    await alice.getByTestId('chat-name').fill('   ');
    await alice.getByTestId('chat-join').click();
    await expect.poll(() => alice.getByTestId('chat-error').textContent(), { timeout: 5000 }).toBe('name: must not be empty');
    await joinChat(alice, 'Alice');
    await joinChat(bob, 'Bob');
    expect(await alice.getByTestId('chat-error').isVisible()).toBe(false);

    await say(alice, 'hi Bob');
    await expect.poll(() => lastMessage(bob).textContent(), { timeout: 5000 }).toBe('Alicehi Bob');
    await say(bob, 'hello Alice');
    await expect.poll(() => messageTexts(alice), { timeout: 5000 }).toEqual(['hi Bob', 'hello Alice']);
    expect(await alice.getByTestId('chat-input').inputValue()).toBe('');
    await expect.poll(() => messageTexts(operator), { timeout: 5000 }).toEqual(['hi Bob', 'hello Alice']);

    // Markup in a message is shown as the characters typed; nothing runs, no element is made.
    const markup = '<img src=x onerror="document.title=\'owned\'"><b>bold?</b>';
    await say(alice, markup);
    for (const page of [bob, operator]) {
      await expect.poll(() => lastMessage(page).locator('.chat-text').textContent(), { timeout: 5000 }).toBe(markup);
      expect(await page.locator('[data-testid="chat-messages"] img, [data-testid="chat-messages"] b').count()).toBe(0);
      expect(await page.title()).not.toBe('owned');
    }

    // A publish page opened now gets the history.
    const publisher = await openPage(stream.urls.publish!);
    await expect.poll(() => messageTexts(publisher), { timeout: 5000 }).toEqual(['hi Bob', 'hello Alice', markup]);

    // A reaction click floats on the clicker's player and shows in the counts on every page.
    await alice.getByTestId('react-like').click();
    await expect.poll(() => alice.locator('.reaction-float[data-kind="like"]').count(), { timeout: 2000, interval: 50 }).toBeGreaterThan(0);
    await bob.getByTestId('react-heart').click();
    await bob.getByTestId('react-heart').click();
    for (const page of [alice, bob, operator, publisher]) {
      await expect.poll(() => reactionCount(page, 'like'), { timeout: 5000 }).toBe('👍 1');
      await expect.poll(() => reactionCount(page, 'heart'), { timeout: 5000 }).toBe('❤️ 2');
    }

    // The name is remembered: after a reload Alice chats straight away.
    await alice.reload();
    await expect.poll(() => alice.getByTestId('chat-input').isVisible(), { timeout: 5000 }).toBe(true);
    expect(await alice.getByTestId('chat-identity').textContent()).toBe('Alice');
    await expect.poll(() => messageTexts(alice), { timeout: 5000 }).toEqual(['hi Bob', 'hello Alice', markup]);
    expect(await reactionCount(alice, 'heart')).toBe('❤️ 2');

    // A flood is stopped after the burst (3 messages) and Alice is told how long to wait.
    const error = alice.getByTestId('chat-error');
    let accepted = 0;
    for (let index = 0; index < 6 && !(await error.isVisible()); index++) {
      await say(alice, `flood ${index}`);
      await expect.poll(async () => (await alice.getByTestId('chat-input').inputValue()) === '' || (await error.isVisible()), { timeout: 5000 }).toBe(true);
      if (!(await error.isVisible())) accepted++;
    }
    expect(await error.textContent()).toMatch(/^Slow down: wait \d s before sending again\.$/);
    expect(accepted).toBeLessThanOrEqual(3);
    // The refused text stays in the box to send later.
    const refusedText = `flood ${accepted}`;
    expect(await alice.getByTestId('chat-input').inputValue()).toBe(refusedText);
    await expect.poll(() => messageTexts(bob), { timeout: 5000 }).toEqual(['hi Bob', 'hello Alice', markup, ...Array.from({ length: accepted }, (_unused, index) => `flood ${index}`)]);
    // The notice goes away once the wait is over, and sending works again.
    await expect.poll(() => alice.getByTestId('chat-error').isVisible(), { timeout: 5000 }).toBe(false);
    await alice.getByTestId('chat-send').click();
    await expect.poll(() => lastMessage(bob).locator('.chat-text').textContent(), { timeout: 5000 }).toBe(refusedText);

    // A reaction flood (15 clicks at once) is throttled after the burst of 10, and said so.
    await bob.evaluate(() => {
      const button = document.querySelector<HTMLButtonElement>('[data-testid="react-clap"]')!;
      for (let click = 0; click < 15; click++) button.click();
    });
    await expect.poll(() => bob.getByTestId('chat-error').textContent(), { timeout: 5000 }).toBe('Slow down: wait 1 s before reacting again.');
    await expect.poll(() => reactionCount(alice, 'clap'), { timeout: 5000 }).toMatch(/^👏 1[0-4]$/);

    // The stream ends: every chat says so and refuses input.
    await fetch(`${server.url}/v1/streams/${stream.id}`, { method: 'DELETE' });
    await expect.poll(() => bob.getByTestId('chat-error').textContent(), { timeout: 5000 }).toBe('Chat is closed: the stream has ended.');
    expect(await bob.getByTestId('chat-input').isDisabled()).toBe(true);
    await expect.poll(() => operator.getByTestId('chat-error').textContent(), { timeout: 5000 }).toBe('Chat is closed: the stream has ended.');

    expect(pageErrors).toEqual([]);
  });

  it('draws every reaction icon, on the buttons, in the counts and floating, without an emoji font (Debian\'s Chromium has none)', async () => {
    const stream = await createStream(server.url, 'icons');
    const viewer = await openPage(stream.urls.watch!);
    await joinChat(viewer, 'Ico');
    const kinds = ['like', 'laugh', 'wow', 'clap', 'heart'];
    for (const kind of kinds) await viewer.getByTestId(`react-${kind}`).click();
    for (const kind of kinds) await expect.poll(() => reactionCount(viewer, kind), { timeout: 5000 }).toMatch(/ 1$/);
    const coloured: Record<string, { button: number; count: number }> = {};
    for (const kind of kinds) {
      // A 24 px icon is mostly colour (over 200 px); an empty box or a missing image has none.
      coloured[kind] = { button: await colouredPixels(viewer.getByTestId(`react-${kind}`)), count: await colouredPixels(viewer.locator(`[data-testid="reaction-counts"] [data-kind="${kind}"]`)) };
    }
    console.log(`reaction icons, coloured pixels: ${JSON.stringify(coloured)}`);
    for (const kind of kinds) {
      expect(coloured[kind]!.button, kind).toBeGreaterThan(150);
      expect(coloured[kind]!.count, kind).toBeGreaterThan(60);
    }
    // The emoji stays as text for screen readers and copying.
    expect(await reactionCount(viewer, 'like')).toBe('👍 1');
    await viewer.getByTestId('react-heart').click();
    const float = viewer.locator('.reaction-float[data-kind="heart"] img');
    await expect.poll(() => float.count(), { timeout: 2000, interval: 50 }).toBeGreaterThan(0);
    expect(await float.first().evaluate((image: HTMLImageElement) => image.naturalWidth)).toBeGreaterThan(0);
    expect(pageErrors).toEqual([]);
  });
});
