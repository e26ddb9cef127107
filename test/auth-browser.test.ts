import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAfterTests, startServerAndChromium } from './helpers/test-lifecycle.js';
import { ADMIN_TOKEN, waitFor, type RunningServer } from './helpers/livefx-process.js';
import { WhipClient } from './helpers/whip-client.js';
import { openIsolatedPage } from './helpers/browser-pages.js';

let server: RunningServer;
let browser: Browser;
const pageErrors: string[] = [];
const cspViolations: string[] = [];
const SHOTS = process.env.LIVEFX_SCREENSHOTS;

beforeAll(async () => {
  ({ server, browser } = await startServerAndChromium());
});

afterAll(() => closeAfterTests({ server, browser }));

/** A page of its own (nobody is signed in), watched for content security policy violations. */
function openPage(url: string): Promise<Page> {
  return openIsolatedPage(browser, server.url, url, pageErrors, {
    beforeLoad: (page) =>
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) cspViolations.push(`${url}: ${message.text()}`);
      }),
  });
}

const framesRendered = (page: Page): Promise<number> => page.evaluate(() => (window as unknown as { livefxViewer: { framesRendered: number } }).livefxViewer.framesRendered);

describe('browser: signing in and private streams', () => {
  it('signs the admin in on the home page, creates a private stream whose signed link plays, and refuses the bare link', async () => {
    const home = await openPage('/');
    await expect.poll(() => home.getByTestId('sign-in').isVisible()).toBe(true);
    expect(await home.getByTestId('go-live').isVisible()).toBe(false);
    // A wrong token is refused in place.
    await home.getByTestId('admin-token-input').fill('lfx_adm_wrong');
    await home.getByTestId('sign-in-form').locator('button').click();
    await expect.poll(() => home.getByTestId('sign-in-error').textContent()).toContain('not valid');
    await home.getByTestId('admin-token-input').fill(ADMIN_TOKEN);
    await home.getByTestId('sign-in-form').locator('button').click();
    await expect.poll(() => home.getByTestId('go-live').isVisible()).toBe(true);
    expect(await home.getByTestId('signed-in-as').textContent()).toContain('admin');

    await home.getByTestId('title-input').fill('Members only');
    await home.getByTestId('visibility-select').selectOption('private');
    await home.getByTestId('create-form').locator('button').click();
    await expect.poll(() => home.getByTestId('created').isVisible()).toBe(true);
    const links = await home.getByTestId('created').locator('a').evaluateAll((anchors) => anchors.map((anchor) => (anchor as HTMLAnchorElement).getAttribute('href')!));
    const [publish, watch, , operator] = links as [string, string, string, string];
    expect(watch).toMatch(/^\/watch\?stream=[0-9a-f]{12}&token=lfx_v1\./);
    expect(operator).toMatch(/&token=lfx_op_/);
    const streamId = /stream=([0-9a-f]{12})/.exec(watch)![1]!;
    const streamKey = /key=([^&]+)/.exec(publish)![1]!;
    if (SHOTS) await home.screenshot({ path: `${SHOTS}/home-created.png`, fullPage: true });
    // Reloading keeps the admin signed in (remembered on this browser).
    await home.reload();
    await expect.poll(() => home.getByTestId('stream-list').textContent()).toContain('Members only (private)');

    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${streamId}`, streamKey, width: 320, height: 240 });
    await publisher.start();
    try {
      const viewer = await openPage(watch);
      await expect.poll(() => framesRendered(viewer), { timeout: 20_000 }).toBeGreaterThan(10);
      // The token left the address bar (a copied URL does not share it), and a reload still plays.
      expect(viewer.url()).not.toContain('token=');
      if (SHOTS) await viewer.screenshot({ path: `${SHOTS}/watch-private.png` });

      // A page that may not use sessionStorage (an embed under strict storage rules): the link's token still serves
      // both its early WHEP start (inline in the head, which takes the token out of the address bar) and its modules.
      const noStorage = await openIsolatedPage(browser, server.url, watch, pageErrors, {
        beforeLoad: (page) =>
          page.addInitScript(() =>
            Object.defineProperty(window, 'sessionStorage', {
              get() {
                throw new DOMException('storage is blocked', 'SecurityError');
              },
            }),
          ),
      });
      await expect.poll(() => framesRendered(noStorage), { timeout: 20_000 }).toBeGreaterThan(10);
      expect(await noStorage.getByTestId('error').isVisible()).toBe(false);

      const stranger = await openPage(`/watch?stream=${streamId}`);
      await expect.poll(() => stranger.getByTestId('error').textContent(), { timeout: 10_000 }).toContain('This stream is private');
      expect(await framesRendered(stranger)).toBe(0);
      if (SHOTS) await stranger.screenshot({ path: `${SHOTS}/watch-refused.png` });

      const console = await openPage(operator);
      await expect.poll(() => console.getByTestId('state').textContent(), { timeout: 10_000 }).toBe('live');
      const noToken = await openPage(`/operator?stream=${streamId}`);
      await expect.poll(() => noToken.getByTestId('error').textContent(), { timeout: 10_000 }).toContain('needs this stream');
      if (SHOTS) await noToken.screenshot({ path: `${SHOTS}/operator-refused.png` });
      await waitFor('the publisher to stay connected', () => (publisher.framesSent > 0 ? true : undefined));
    } finally {
      await publisher.stop();
    }
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
  }, 120_000);
});
