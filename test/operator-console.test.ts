import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAfterTests, startServerAndChromium } from './helpers/test-lifecycle.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, waitFor, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';
import { publishAndWatch } from './helpers/publish-and-watch.js';

interface ChainBody {
  transforms: { name: string; enabled: boolean; params: Record<string, unknown> }[];
}

let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  ({ server, browser } = await startServerAndChromium());
});

afterAll(() => closeAfterTests({ server, browser }));

const DARKEN_CUBE = ['TITLE "darken"', 'LUT_3D_SIZE 2', ...Array.from({ length: 8 }, () => '0.05 0.05 0.05'), ''].join('\n');
const BROKEN_CUBE = 'LUT_3D_SIZE 2\n0 0 0\nnot a row\n';

const chainOf = async (streamId: string): Promise<ChainBody> => (await (await fetch(`${server.url}/v1/streams/${streamId}/transforms`)).json()) as ChainBody;

async function openConsole(url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${server.url}${url}`);
  await expect.poll(() => page.getByTestId('add-transform').count(), { timeout: 10_000 }).toBe(1);
  return page;
}

describe('operator console: uploads, colours and presets', () => {
  it('uploads a LUT from a card and applies it, saves the chain as a preset, reloads and applies the preset', async () => {
    const stream = await createStream(server.url, 'console');
    const { publisher, viewer } = await publishAndWatch(server.url, stream, { width: 640, height: 360 });
    const operator = await openConsole(stream.urls.operator!);
    const colleague = await openConsole(stream.urls.operator!);
    try {
      await waitFor('viewer frames', () => viewer.frames.length >= 15 || undefined, 15_000);
      const recentLuma = () => viewer.frames.slice(-3).reduce((sum, frame) => sum + frame.centerLuma, 0) / 3;
      const original = viewer.frames.slice(-10).reduce((sum, frame) => sum + frame.centerLuma, 0) / 10;
      expect(original).toBeGreaterThan(60);

      await operator.getByTestId('add-transform-name').selectOption('lut3d');
      await operator.getByTestId('add-transform').click();
      const card = operator.getByTestId('transform-card');
      await expect.poll(() => card.count()).toBe(1);

      // A malformed .cube is refused in place, with the parser's line number; nothing is selected.
      await card.getByTestId('asset-upload').setInputFiles({ name: 'broken.cube', mimeType: 'application/octet-stream', buffer: Buffer.from(BROKEN_CUBE) });
      await expect.poll(() => card.getByTestId('asset-error').textContent(), { timeout: 5000 }).toMatch(/broken\.cube.*line 3: unknown keyword "not"/);
      expect(await card.getByTestId('asset-error').isVisible()).toBe(true);
      expect((await (await fetch(`${server.url}/v1/luts`)).json()) as unknown).toEqual({ luts: [] });

      await card.getByTestId('asset-upload').setInputFiles({ name: 'darken.cube', mimeType: 'application/octet-stream', buffer: Buffer.from(DARKEN_CUBE) });
      await expect.poll(() => card.getByTestId('param-file').inputValue(), { timeout: 5000 }).toBe('darken.cube');
      expect(await card.getByTestId('asset-error').isVisible()).toBe(false);
      await waitFor('the uploaded LUT reaches the viewer', () => (recentLuma() < 40 ? true : undefined), 5000);
      expect((await chainOf(stream.id)).transforms).toEqual([expect.objectContaining({ name: 'lut3d', enabled: true, params: expect.objectContaining({ file: 'darken.cube' }) })]);
      await expect.poll(() => card.getByTestId('transform-ms').textContent(), { timeout: 5000 }).toMatch(/^\d+\.\d{2} ms/);
      // The kernel runs on the WebAssembly backend (auto, on a runtime with SIMD), and the card says so.
      await expect.poll(() => card.getByTestId('transform-ms').textContent(), { timeout: 5000 }).toMatch(/^\d+\.\d{2} ms · wasm/);

      // Save the chain as a preset: both consoles list it at once.
      await operator.getByTestId('preset-name').fill('night grade');
      await operator.getByTestId('preset-save').click();
      for (const page of [operator, colleague]) {
        await expect.poll(() => page.locator('[data-testid="preset-list"] [data-preset="night grade"]').count(), { timeout: 5000 }).toBe(1);
      }
      expect(await operator.getByTestId('preset-name').inputValue()).toBe('');

      // Take the LUT off, reload the console: the preset is still there and brings the grade back.
      await card.getByTestId('transform-remove').click();
      await waitFor('the picture is back', () => (Math.abs(recentLuma() - original) < 15 ? true : undefined), 5000);
      await operator.reload();
      await expect.poll(() => operator.getByTestId('add-transform').count(), { timeout: 10_000 }).toBe(1);
      expect(await operator.getByTestId('transform-card').count()).toBe(0);
      const row = operator.locator('[data-preset="night grade"]');
      await expect.poll(() => row.count(), { timeout: 5000 }).toBe(1);
      expect(await row.textContent()).toContain('lut3d');
      await row.getByTestId('preset-apply').click();
      await expect.poll(() => operator.getByTestId('transform-card').count(), { timeout: 5000 }).toBe(1);
      await expect.poll(() => operator.getByTestId('param-file').inputValue(), { timeout: 5000 }).toBe('darken.cube');
      await waitFor('the preset reaches the viewer', () => (recentLuma() < 40 ? true : undefined), 5000);
      // The other console follows the preset's chain change.
      await expect.poll(() => colleague.getByTestId('param-file').inputValue(), { timeout: 5000 }).toBe('darken.cube');

      // A refused preset name is said in the panel.
      await operator.getByTestId('preset-name').fill('../escape');
      await operator.getByTestId('preset-save').click();
      await expect.poll(() => operator.getByTestId('preset-error').textContent(), { timeout: 5000 }).toMatch(/Preset refused: preset name "\.\.\/escape" must be/);

      await row.getByTestId('preset-delete').click();
      for (const page of [operator, colleague]) {
        await expect.poll(() => page.locator('[data-preset="night grade"]').count(), { timeout: 5000 }).toBe(0);
      }
    } finally {
      await operator.close();
      await colleague.close();
      await viewer.stop();
      await publisher.stop();
    }
  });

  it('edits colours with a picker keeping their alpha, picks a LUT from the server’s list, slides whole numbers', async () => {
    const stream = await createStream(server.url, 'colours');
    const operator = await openConsole(stream.urls.operator!);
    try {
      await operator.getByTestId('add-transform-name').selectOption('text');
      await operator.getByTestId('add-transform').click();
      await expect.poll(async () => (await chainOf(stream.id)).transforms.length, { timeout: 5000 }).toBe(1);
      expect(await operator.getByTestId('param-color').getAttribute('type')).toBe('color');
      expect(await operator.getByTestId('param-background').getAttribute('type')).toBe('color');
      // The default background #000000a0 shows as black at alpha 160.
      expect(await operator.getByTestId('param-background').inputValue()).toBe('#000000');
      expect(await operator.getByTestId('param-background-alpha').inputValue()).toBe('160');

      await operator.getByTestId('param-color').fill('#ff8800');
      await expect.poll(async () => (await chainOf(stream.id)).transforms[0]!.params.color, { timeout: 5000 }).toBe('#ff8800');
      await operator.getByTestId('param-background').fill('#0000ff');
      await operator.getByTestId('param-background-alpha').fill('64');
      await expect.poll(async () => (await chainOf(stream.id)).transforms[0]!.params.background, { timeout: 5000 }).toBe('#0000ff40');
      expect(await operator.getByTestId('transform-error').isVisible()).toBe(false);

      // A file already on the server is picked from the card's list.
      const form = new FormData();
      form.append('file', new Blob([DARKEN_CUBE]), 'listed.cube');
      expect((await fetch(`${server.url}/v1/luts?overwrite=true`, { method: 'POST', body: form })).status).toBe(201);
      await operator.getByTestId('add-transform-name').selectOption('lut3d');
      await operator.getByTestId('add-transform').click();
      const lutCard = operator.getByTestId('transform-card').nth(1);
      await expect.poll(() => lutCard.getByTestId('param-file').locator('option').allTextContents(), { timeout: 5000 }).toContain('listed.cube · 2³');
      await lutCard.getByTestId('param-file').selectOption('listed.cube');
      await expect.poll(async () => (await chainOf(stream.id)).transforms.map((entry) => entry.params.file ?? entry.name), { timeout: 5000 }).toEqual(['text', 'listed.cube']);

      // Whole-number parameters slide in whole steps and reach the server as numbers; a stylization brings its label card.
      await operator.getByTestId('add-transform-name').selectOption('pixelate');
      await operator.getByTestId('add-transform').click();
      await expect.poll(() => operator.getByTestId('transform-card').count(), { timeout: 5000 }).toBe(4);
      await operator.getByTestId('param-blockSize').fill('24');
      await expect.poll(async () => (await chainOf(stream.id)).transforms[2]?.params.blockSize, { timeout: 5000 }).toBe(24);
      expect((await chainOf(stream.id)).transforms.map((entry) => entry.name)).toEqual(['text', 'lut3d', 'pixelate', 'label']);
      expect(await operator.getByTestId('transform-error').isVisible()).toBe(false);
    } finally {
      await operator.close();
    }
  });
});
