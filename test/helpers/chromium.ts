import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { projectRoot } from './livefx-process.js';

/** Starts Debian's /usr/bin/chromium with playwright's --disable-features and the tests' joined into one (Chromium reads only the last). */
const CHROMIUM_LAUNCHER = path.join(projectRoot, 'test', 'helpers', 'chromium.sh');

/**
 * Headless Chromium (156) is the whole browser, and each browser context opens a window of its own:
 * every window preloaded its omnibox popup, a browser-UI renderer that used about half a core for
 * a second or more, beside the page under test, at the start of every context. A viewer's browser has
 * its window open already; the tests and benchmarks open a context per visit, so they switch it off.
 */
const BROWSER_UI_PRELOADS = ['WebUIOmniboxPopup', 'WebUIOmniboxAimPopup', 'PreloadTopChromeWebUI'];

export interface ChromiumOptions {
  /** Keep each new window's browser-UI preload, as Chromium does by default (for a comparison in the join-time benchmark). */
  browserUiPreload?: boolean;
}

/** Debian's Chromium, headless, with a fresh profile (playwright makes one per launch), with a fake camera at 30 fps and loopback WebRTC allowed; nothing leaves the machine. */
export async function launchChromium(extraArgs: string[] = [], options: ChromiumOptions = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_LAUNCHER,
    args: [
      ...(options.browserUiPreload ? [] : [`--disable-features=${BROWSER_UI_PRELOADS.join(',')}`]),
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-device-for-media-stream=fps=30',
      '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required',
      ...extraArgs,
    ],
  });
}
