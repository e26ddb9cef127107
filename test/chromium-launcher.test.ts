import type { Browser, CDPSession } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { launchChromium } from './helpers/chromium.js';

// The Chromium every browser test and benchmark drives (test/helpers/chromium.ts): the join-time benchmark
// times the watch page in a fresh context per load, so what the browser itself starts beside each
// context's page is measured with it.

/** The browser-UI pages (CDP target type `browser_ui`, e.g. chrome://omnibox-popup.top-chrome/) open now. */
async function browserUiTargets(cdp: CDPSession): Promise<string[]> {
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { type: string; url: string }[] };
  return targetInfos.filter((target) => target.type === 'browser_ui').map((target) => target.url);
}

async function openContext(browser: Browser): Promise<void> {
  const page = await (await browser.newContext()).newPage();
  await page.goto('data:text/html,<p>a visit</p>');
}

describe("the tests' Chromium", () => {
  it("starts no browser UI for a new context (Chromium's default does), and keeps playwright's own disabled features", async () => {
    // Chromium's default first: the same check must find the preloaded UI there, or it proves nothing.
    const preloading = await launchChromium([], { browserUiPreload: true });
    let preloadMs: number;
    try {
      const cdp = await preloading.newBrowserCDPSession();
      const started = performance.now();
      await openContext(preloading);
      let found: string[] = [];
      while ((found = await browserUiTargets(cdp)).length === 0 && performance.now() - started < 20_000) await new Promise((resolve) => setTimeout(resolve, 50));
      preloadMs = performance.now() - started;
      expect(found.join(' '), "Chromium's default preloads browser UI in each new window").toMatch(/^chrome:\/\//);
    } finally {
      await preloading.close();
    }

    const browser = await launchChromium();
    try {
      const cdp = await browser.newBrowserCDPSession();
      await openContext(browser);
      // Three times as long as the preload took to appear with Chromium's default, and at least 2 s.
      await new Promise((resolve) => setTimeout(resolve, Math.max(2000, 3 * preloadMs)));
      expect(await browserUiTargets(cdp)).toEqual([]);

      // One --disable-features (Chromium reads only the last one given): playwright's list and the tests' additions.
      const page = await (await browser.newContext()).newPage();
      await page.goto('chrome://version');
      const commandLine = (await page.locator('#command_line').textContent()) ?? '';
      const switches = commandLine.split(/\s+/).filter((argument) => argument.startsWith('--disable-features='));
      expect(switches).toHaveLength(1);
      const disabled = switches[0]!.slice('--disable-features='.length).split(',');
      // PaintHolding and ThirdPartyStoragePartitioning are playwright-core's; the other two are the tests'.
      expect(disabled).toEqual(expect.arrayContaining(['PaintHolding', 'ThirdPartyStoragePartitioning', 'WebUIOmniboxPopup', 'PreloadTopChromeWebUI']));
    } finally {
      await browser.close();
    }
  }, 120_000);
});
