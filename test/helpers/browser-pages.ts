import { expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';

/**
 * A page in a browser context of its own (its own storage: its own viewer id, remembered name and
 * sign-in), opened at `baseUrl + url`; its uncaught errors are collected into `pageErrors`.
 */
export async function openIsolatedPage(
  browser: Browser,
  baseUrl: string,
  url: string,
  pageErrors: string[],
  options: { viewport?: { width: number; height: number }; beforeLoad?: (page: Page) => void } = {},
): Promise<Page> {
  const context = await browser.newContext(options.viewport ? { viewport: options.viewport } : {});
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${url}: ${error.message}`));
  options.beforeLoad?.(page);
  await page.goto(`${baseUrl}${url}`);
  return page;
}

/** Joins the page's chat with a display name. */
export async function joinChat(page: Page, name: string): Promise<void> {
  await page.getByTestId('chat-name').fill(name);
  await page.getByTestId('chat-join').click();
  await expect.poll(() => page.getByTestId('chat-input').isVisible(), { timeout: 5000 }).toBe(true);
}

/** Opens the publish page at `url` (a whole URL, source chosen by its query), presses Go live and waits until the page says live. */
export async function goLive(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.getByTestId('go-live').click();
  await expect.poll(() => page.getByTestId('state').textContent(), { timeout: 15_000 }).toBe('live');
}
