import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAfterTests } from './helpers/test-lifecycle.js';
import { launchChromium } from './helpers/chromium.js';
import { startServer, type RunningServer } from './helpers/livefx-process.js';
import { ADMIN_TOKEN, adminApi, createStreamAsAdmin } from './helpers/admin-api.js';
import { joinChat, openIsolatedPage } from './helpers/browser-pages.js';

/** Screenshots of the pages at the end, for a person to look at. */
const SCREENSHOT_DIR = path.join(tmpdir(), 'livefx-moderation-browser');

let server: RunningServer;
let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  server = await startServer({ LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN });
  browser = await launchChromium();
  await mkdir(SCREENSHOT_DIR, { recursive: true });
});

afterAll(() => closeAfterTests({ browser, server }));

const openPage = (url: string): Promise<Page> => openIsolatedPage(browser, server.url, url, pageErrors, { viewport: { width: 1280, height: 900 } });

async function say(page: Page, text: string): Promise<void> {
  await page.getByTestId('chat-input').fill(text);
  await page.getByTestId('chat-send').click();
  await expect.poll(() => page.getByTestId('chat-input').inputValue(), { timeout: 5000 }).toBe('');
}

const messageTexts = (page: Page): Promise<string[]> => page.locator('[data-testid="chat-message"] .chat-text').allTextContents();
/** The operator console's row of the message with this text. */
const rowOf = (page: Page, text: string) => page.getByTestId('chat-message').filter({ has: page.locator('.chat-text', { hasText: text }) });

describe('browser: chat moderation from the operator console', () => {
  it('the operator removes a message and bans a viewer: the message leaves every page, the banned viewer is told and shut out, the other viewer chats on; mute and unban work from the console', async () => {
    const stream = await createStreamAsAdmin(server.url, 'moderated');
    const alice = await openPage(stream.urls.watch!);
    const bob = await openPage(stream.urls.watch!);
    const operator = await openPage(`${stream.urls.operator!}&token=${ADMIN_TOKEN}`);
    await joinChat(alice, 'Alice');
    await joinChat(bob, 'Bob');

    await say(bob, 'BUY CHEAP FOLLOWERS');
    await say(alice, 'hello everyone');
    await say(bob, 'you are all idiots');
    const all = ['BUY CHEAP FOLLOWERS', 'hello everyone', 'you are all idiots'];
    for (const page of [alice, bob, operator]) await expect.poll(() => messageTexts(page), { timeout: 5000 }).toEqual(all);
    // Viewers get no moderation buttons; the console has them on every row.
    expect(await alice.getByTestId('chat-remove').count()).toBe(0);
    expect(await operator.getByTestId('chat-remove').count()).toBe(3);

    await rowOf(operator, 'BUY CHEAP FOLLOWERS').getByTestId('chat-remove').click();
    const afterRemoval = ['hello everyone', 'you are all idiots'];
    for (const page of [alice, bob, operator]) await expect.poll(() => messageTexts(page), { timeout: 5000 }).toEqual(afterRemoval);

    await operator.getByTestId('moderation-reason').fill('insults');
    await rowOf(operator, 'you are all idiots').getByTestId('chat-ban').click();
    await expect.poll(() => bob.getByTestId('chat-error').textContent(), { timeout: 5000 }).toBe('You were removed from this chat: insults.');
    expect(await bob.getByTestId('chat-input').isVisible()).toBe(false);
    expect(await bob.getByTestId('chat-name').isVisible()).toBe(false);
    await expect.poll(() => operator.getByTestId('banned-viewer').allTextContents(), { timeout: 5000 }).toEqual([expect.stringMatching(/^Bob since .* · insults · by (operator|admin) Unban$/)]);

    // Alice chats on; the removed message stays gone after a reload (history), Bob stays out after his.
    await say(alice, 'that is better');
    await expect.poll(() => messageTexts(operator), { timeout: 5000 }).toEqual([...afterRemoval, 'that is better']);
    await alice.reload();
    await expect.poll(() => messageTexts(alice), { timeout: 5000 }).toEqual([...afterRemoval, 'that is better']);
    await bob.reload();
    await expect.poll(() => bob.getByTestId('chat-error').textContent(), { timeout: 5000 }).toBe('You were removed from this chat by an operator (insults).');
    expect(await messageTexts(bob)).toEqual([]);
    await alice.screenshot({ path: `${SCREENSHOT_DIR}/watch-alice.png` });
    await bob.screenshot({ path: `${SCREENSHOT_DIR}/watch-bob-banned.png` });

    // A mute from the console: Alice is told, her send is refused with the time left, unmute lets her talk.
    await operator.getByTestId('moderation-reason').fill('');
    await operator.getByTestId('mute-seconds').selectOption('60');
    await rowOf(operator, 'that is better').getByTestId('chat-mute').click();
    await expect.poll(() => alice.getByTestId('chat-error').textContent(), { timeout: 5000 }).toBe('You are muted by an operator for 60 s: you can still watch and read.');
    await alice.getByTestId('chat-input').fill('am I muted?');
    await alice.getByTestId('chat-send').click();
    await expect.poll(() => alice.getByTestId('chat-error').textContent(), { timeout: 5000 }).toMatch(/^You are muted by an operator for another \d+ s\.$/);
    expect(await alice.getByTestId('chat-input').inputValue()).toBe('am I muted?');
    await expect.poll(() => operator.getByTestId('muted-viewer').count(), { timeout: 5000 }).toBe(1);
    await operator.screenshot({ path: `${SCREENSHOT_DIR}/operator.png`, fullPage: true });
    await operator.getByTestId('muted-viewer').getByTestId('unmute').click();
    await expect.poll(() => operator.getByTestId('muted-viewer').count(), { timeout: 5000 }).toBe(0);
    await alice.getByTestId('chat-send').click();
    await expect.poll(() => messageTexts(operator), { timeout: 5000 }).toEqual([...afterRemoval, 'that is better', 'am I muted?']);

    // Unban from the console: Bob's page, reloaded, joins again with his remembered name.
    await operator.getByTestId('banned-viewer').getByTestId('unban').click();
    await expect.poll(() => operator.getByTestId('banned-viewer').count(), { timeout: 5000 }).toBe(0);
    await bob.reload();
    await expect.poll(() => bob.getByTestId('chat-input').isVisible(), { timeout: 5000 }).toBe(true);
    await say(bob, 'sorry');
    await expect.poll(() => messageTexts(alice), { timeout: 5000 }).toEqual([...afterRemoval, 'that is better', 'am I muted?', 'sorry']);

    // The console's actions are the recorder's moderation log too (checked at socket level); here: they reached the server.
    expect((await adminApi(server.url, `/v1/streams/${stream.id}/moderation`)).body).toMatchObject({ bans: [], mutes: [] });
    expect(pageErrors).toEqual([]);
  });
});
