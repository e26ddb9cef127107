import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAfterTests, speechFolder } from './helpers/test-lifecycle.js';
import { normaliseWords } from './helpers/asr-speech.js';
import { launchChromium } from './helpers/chromium.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, recordingInProgress, startServer, waitFor, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';
import { goLiveInNewPage } from './helpers/browser-pages.js';

const SENTENCES = ['The meeting starts at seven thirty tomorrow.', 'There were twenty three people in the room.', 'Please bring your notes and a pen.'];
/** Words the captions must show (the digits are how the layout writes "twenty three"). */
const EXPECTED = ['meeting', 'starts', 'tomorrow', 'people', 'room', 'bring', 'notes'];

const fixture = speechFolder('livefx-subtitles-browser-', SENTENCES, { leadSilenceMs: 1000, gapMs: 1500 });
let server: RunningServer;
let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  // Chromium plays the file as the microphone, in a loop.
  const wav = path.join(fixture.dir, 'microphone.wav');
  const converted = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', '-i', fixture.speech.file, '-ar', '48000', '-ac', '1', '-c:a', 'pcm_s16le', wav]);
  expect(converted.status, converted.stderr.toString()).toBe(0);
  server = await startServer({ LIVEFX_MEDIA_TIMEOUT_S: '3' });
  browser = await launchChromium([`--use-file-for-fake-audio-capture=${wav}`]);
});

afterAll(() => closeAfterTests({ browser, server }));

interface CaptionAreaStats {
  /** Share of the caption area's pixels that are dark (the caption box) and bright (its text). */
  dark: number;
  bright: number;
}

/** The bottom-centre strip of the viewer's video where the burned-in caption goes, read back through a canvas. */
function captionArea(page: Page): Promise<CaptionAreaStats> {
  return page.evaluate(() => {
    const video = document.querySelector<HTMLVideoElement>('[data-testid="player"]')!;
    const width = video.videoWidth;
    const height = video.videoHeight;
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext('2d')!;
    context.drawImage(video, 0, 0);
    const top = Math.round(height * 0.72);
    const left = Math.round(width * 0.2);
    const data = context.getImageData(left, top, Math.round(width * 0.6), Math.round(height * 0.22)).data;
    let dark = 0;
    let bright = 0;
    for (let offset = 0; offset < data.length; offset += 4) {
      const luma = 0.299 * data[offset]! + 0.587 * data[offset + 1]! + 0.114 * data[offset + 2]!;
      if (luma < 50) dark++;
      if (luma > 215) bright++;
    }
    const pixels = data.length / 4;
    return { dark: dark / pixels, bright: bright / pixels };
  });
}

type CaptionLog = { text: string; atMs: number; final: boolean }[];
const captionLog = (page: Page): Promise<CaptionLog> => page.evaluate(() => (window as unknown as { livefxViewer: { captionLog: CaptionLog } }).livefxViewer.captionLog);

function percentile(values: number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))]!;
}

describe('browser: live subtitles', () => {
  it('captions a Chromium publisher\'s speech: burned into the video, shown (and toggled) on the watch page, and kept as the recording\'s transcript', async () => {
    const stream = await createStream(server.url, 'captioned talk');
    const publisher = await goLiveInNewPage(browser, `${server.url}${stream.urls.publish!}&source=camera`, pageErrors);
    const recording = await recordingInProgress(server.url, stream.id);
    const startedMs = Date.parse(recording.startedAt);

    const viewerContext = await browser.newContext();
    const viewer = await viewerContext.newPage();
    viewer.on('pageerror', (error) => pageErrors.push(`viewer: ${error.message}`));
    await viewer.goto(`${server.url}${stream.urls.watch!}`);
    await expect.poll(() => viewer.evaluate(() => (window as unknown as { livefxViewer: { framesRendered: number } }).livefxViewer.framesRendered), { timeout: 20_000 }).toBeGreaterThan(30);
    // The caption strip without captions, over a few frames.
    const baseline: CaptionAreaStats[] = [];
    for (let index = 0; index < 5; index++) {
      baseline.push(await captionArea(viewer));
      await viewer.waitForTimeout(200);
    }
    // Chromium's fake camera is mostly dark, so the caption shows as its white text.
    const baselineBright = Math.max(...baseline.map((stats) => stats.bright));

    const chain = await fetch(`${server.url}/v1/streams/${stream.id}/transforms`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ transforms: [{ name: 'subtitles', params: { position: 'bottom' } }] }),
    });
    expect(chain.status, await chain.text()).toBe(200);

    // Captions with the spoken words reach the viewer page.
    await expect
      .poll(async () => {
        const words = new Set((await captionLog(viewer)).flatMap((entry) => normaliseWords(entry.text)));
        return EXPECTED.filter((word) => words.has(word)).length;
      }, { timeout: 40_000, interval: 500 })
      .toBeGreaterThanOrEqual(EXPECTED.length - 2);
    expect(await viewer.getByTestId('captions').isVisible()).toBe(true);

    // The burned-in caption: white text in the bottom strip of the processed video while a caption is up.
    let burned: CaptionAreaStats = { dark: 0, bright: 0 };
    for (let tries = 0; tries < 60 && burned.bright < baselineBright + 0.01; tries++) {
      if ((await viewer.getByTestId('captions').textContent())?.trim()) {
        const stats = await captionArea(viewer);
        if (stats.bright > burned.bright) burned = stats;
      }
      await viewer.waitForTimeout(150);
    }
    expect(burned.bright, `caption strip bright share ${burned.bright.toFixed(4)} vs ${baselineBright.toFixed(4)} before`).toBeGreaterThan(baselineBright + 0.01);

    // HLS: the page plays low-latency HLS with the WebVTT captions rendition (ll-master.m3u8), which hls.js loads; the page's
    // caption box works there too. Plain HLS keeps its own master playlist (master.m3u8 with index.m3u8) for other players.
    const hlsViewer = await viewerContext.newPage();
    hlsViewer.on('pageerror', (error) => pageErrors.push(`hls viewer: ${error.message}`));
    await hlsViewer.goto(`${server.url}${stream.urls.watch!}&mode=hls`);
    type HlsView = { hlsUrl?: string; hlsSubtitleTracks: number; captionLog: CaptionLog };
    const hlsView = (): Promise<HlsView> => hlsViewer.evaluate(() => (window as unknown as { livefxViewer: HlsView }).livefxViewer);
    await expect.poll(async () => (await hlsView()).hlsUrl, { timeout: 15_000 }).toMatch(/\/ll-master\.m3u8$/);
    await expect.poll(async () => (await hlsView()).hlsSubtitleTracks, { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
    await expect.poll(async () => (await hlsView()).captionLog.length, { timeout: 20_000 }).toBeGreaterThan(0);
    const master = await (await fetch(`${server.url}/hls/${stream.id}/master.m3u8`)).text();
    expect(master).toContain('#EXT-X-MEDIA:TYPE=SUBTITLES');
    expect(master).toMatch(/SUBTITLES="captions"\nindex\.m3u8/);
    // The WebVTT segments carry the words, on the video's MPEG-TS clock.
    await expect
      .poll(async () => {
        const playlist = await (await fetch(`${server.url}/hls/${stream.id}/captions.m3u8`)).text();
        const segments = [...playlist.matchAll(/^(captions-\d+\.vtt)$/gm)].map((match) => match[1]!);
        const texts = await Promise.all(segments.map(async (name) => (await fetch(`${server.url}/hls/${stream.id}/${name}`)).text()));
        expect(texts.every((text) => text.startsWith('WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000\n'))).toBe(true);
        const words = new Set(texts.flatMap((text) => normaliseWords(text.replace(/^.*-->.*$/gm, ''))));
        return EXPECTED.some((word) => words.has(word));
      }, { timeout: 20_000, interval: 1000 })
      .toBe(true);
    // hls.js put those cues on the video's text track (hidden: the page draws its own box), near the playing position.
    await expect
      .poll(() => hlsViewer.evaluate(() => {
        const video = document.querySelector<HTMLVideoElement>('[data-testid="player"]')!;
        const cues = Array.from(video.textTracks as unknown as ArrayLike<TextTrack>).flatMap((track) => Array.from((track.cues ?? []) as unknown as ArrayLike<TextTrackCue>)) as VTTCue[];
        return cues.some((cue) => cue.text.trim() !== '' && Math.abs(cue.startTime - video.currentTime) < 30);
      }), { timeout: 20_000 })
      .toBe(true);
    await hlsViewer.close();

    // The viewer switches captions off: they keep coming but are not shown, and the choice is remembered.
    const logBeforeReload = await captionLog(viewer);
    await viewer.getByTestId('captions-toggle').click();
    await expect.poll(() => viewer.getByTestId('captions').isVisible()).toBe(false);
    await viewer.reload();
    await expect.poll(() => viewer.getByTestId('captions-toggle').textContent()).toBe('CC off');
    await expect.poll(async () => (await captionLog(viewer)).length, { timeout: 20_000 }).toBeGreaterThan(2);
    expect(await viewer.getByTestId('captions').isVisible()).toBe(false);
    await viewer.getByTestId('captions-toggle').click();
    await expect.poll(() => viewer.getByTestId('captions-toggle').textContent()).toBe('CC on');
    const log = [...logBeforeReload, ...(await captionLog(viewer))];

    await publisher.getByTestId('stop').click();
    const stoppedMs = Date.now();
    const done = await waitFor('the recording to complete', async () => {
      const view = (await (await fetch(`${server.url}/v1/recordings/${recording.id}`)).json()) as { state: string; durationS: number; counts: { transcriptWords: number } };
      return view.state === 'complete' ? view : undefined;
    }, 10_000);

    const transcript = (await (await fetch(`${server.url}/v1/recordings/${recording.id}/transcript`)).json()) as { words: { word: string; t: number; end: number; conf?: number }[]; text: string };
    expect(transcript.words.length).toBeGreaterThan(10);
    expect(done.counts.transcriptWords).toBe(transcript.words.length);
    const heard = new Set(normaliseWords(transcript.text));
    expect(EXPECTED.filter((word) => heard.has(word)).length).toBeGreaterThanOrEqual(EXPECTED.length - 2);
    for (const word of transcript.words) {
      expect(word.t).toBeGreaterThanOrEqual(0);
      expect(word.end).toBeGreaterThanOrEqual(word.t);
      // Within the session: before the publisher stopped, as the recording's own length says too.
      expect(word.end).toBeLessThanOrEqual(Math.max((stoppedMs - startedMs) / 1000, done.durationS));
    }
    const vtt = await fetch(`${server.url}/v1/recordings/${recording.id}/transcript?format=vtt`);
    expect(vtt.headers.get('content-type')).toContain('text/vtt');
    expect(await vtt.text()).toMatch(/^WEBVTT\n\n1\n\d\d:\d\d:\d\d\.\d{3} --> /);
    const bad = await fetch(`${server.url}/v1/recordings/${recording.id}/transcript?format=docx`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_query');

    // Caption latency: from the end of a spoken word (its time in the transcript) to the first caption on the page that shows it.
    const latencies: number[] = [];
    for (const word of transcript.words) {
      const [normalised] = normaliseWords(word.word);
      if (!normalised) continue;
      const endMs = startedMs + word.end * 1000;
      // The first showing after the word was said (a word said again later is another showing).
      const shown = log.find((entry) => entry.atMs > endMs - 1000 && entry.atMs < endMs + 8000 && normaliseWords(entry.text).includes(normalised));
      if (shown) latencies.push(shown.atMs - endMs);
    }
    if (latencies.length > 0) {
      console.log(`caption latency (word end → viewer page), ${latencies.length} words: p50 ${Math.round(percentile(latencies, 0.5))} ms, p95 ${Math.round(percentile(latencies, 0.95))} ms`);
    }
    expect(pageErrors).toEqual([]);
    await viewerContext.close();
    await publisher.close();
  }, 150_000);
});
