// Live captions as a viewer gets them: a partial hypothesis at once, then the recogniser's final settling
// or correcting it in place (same cue id, on the socket and in the watch page's caption box); the
// transcript of the recording holds only final words; the LL-HLS flavour offers the captions rendition too.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseWords } from './helpers/asr-speech.js';
import { writeNumbersAsDigits } from '../transforms/subtitles/spoken-numbers.js';
import { launchChromium } from './helpers/chromium.js';
import { closeAfterTests, speechFolder, trackedSocket } from './helpers/test-lifecycle.js';
import { WhipClient } from './helpers/whip-client.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { ADMIN_TOKEN, createStream, recordingInProgress, startServer, waitFor, type CreatedStream, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';

const SENTENCES = ['Please open the window in the kitchen.', 'The weather today is cold and windy.'];
/** Words the captions must carry (PocketSphinx gets all of them on this clean speech). */
const EXPECTED = ['open', 'window', 'kitchen', 'weather', 'cold', 'windy'];

interface SocketCue {
  id: number;
  text: string;
  lines: string[];
  partial?: boolean;
  final: boolean;
}
type PageCaption = { id: number; text: string; atMs: number; partial: boolean; final: boolean; shown: string };

const fixture = speechFolder('livefx-partial-captions-', SENTENCES, { leadSilenceMs: 500, gapMs: 1500 });
const sockets: Socket[] = [];
let server: RunningServer;
let browser: Browser;
let stream: CreatedStream;
let publisher: WhipClient;
/** Every caption message of the stream, in the order the socket got them. */
const received: { cue: SocketCue; atMs: number }[] = [];

beforeAll(async () => {
  const ogg = path.join(fixture.dir, 'speech.ogg');
  const encoded = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', '-i', fixture.speech.file, '-ar', '48000', '-ac', '2', '-c:a', 'libopus', '-b:a', '48k', '-frame_duration', '20', ogg]);
  expect(encoded.status, encoded.stderr.toString()).toBe(0);
  server = await startServer({ LIVEFX_LOG_LEVEL: 'warn', LIVEFX_MEDIA_TIMEOUT_S: '3' });
  browser = await launchChromium();
  stream = await createStream(server.url, 'partial captions');
  const put = await fetch(`${server.url}/v1/streams/${stream.id}/transforms`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transforms: [{ name: 'subtitles' }] }) });
  expect(put.status, await put.text()).toBe(200);
  const live = trackedSocket(sockets, `${server.url}/live`, ADMIN_TOKEN);
  live.on('caption', (message: { streamId: string; cue: SocketCue }) => {
    if (message.streamId === stream.id) received.push({ cue: message.cue, atMs: Date.now() });
  });
  expect(((await live.timeout(10_000).emitWithAck('subscribe', { streamId: stream.id })) as { ok: boolean }).ok).toBe(true);
  // The speech file loops as the microphone, so utterances keep coming.
  publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 320, height: 240, audioFile: ogg });
  await publisher.start();
}, 60_000);

afterAll(async () => {
  await publisher?.stop();
  await closeAfterTests({ browser, server, sockets });
});

/** A cue that was first shown as a partial (with words) and later settled by the final (same id, `partial: false`). */
function settledAfterPartial(): { id: number; partialAt: number; settledAt: number; settled: SocketCue } | undefined {
  for (const [index, entry] of received.entries()) {
    if (entry.cue.partial !== true || entry.cue.lines.length === 0) continue;
    const settled = received.slice(index + 1).find((later) => later.cue.id === entry.cue.id && later.cue.partial === false && later.cue.lines.length > 0);
    if (settled) return { id: entry.cue.id, partialAt: entry.atMs, settledAt: settled.atMs, settled: settled.cue };
  }
  return undefined;
}

describe('live captions: partials first, the final in place', () => {
  it('sends a partial caption before the final of the same utterance, and the watch page replaces the partial with it', async () => {
    const viewer = await browser.newPage();
    try {
      await viewer.goto(`${server.url}${stream.urls.watch!}`);
      const cue = await waitFor('a partial caption settled by its final', () => settledAfterPartial(), 60_000, 200);
      expect(cue.partialAt).toBeLessThan(cue.settledAt);
      // The final is the same cue, corrected in place: no second cue holds the words a second time.
      expect(received.some((entry) => entry.cue.id > cue.id && entry.cue.partial === false && entry.cue.text === cue.settled.text && entry.atMs <= cue.settledAt)).toBe(false);

      // The page: that cue shown first as a partial, then as the final, whose lines replace the partial's in the caption box.
      const pageLog = (): Promise<PageCaption[]> => viewer.evaluate(() => (window as unknown as { livefxViewer: { captionLog: PageCaption[] } }).livefxViewer.captionLog);
      const settledOnPage = await waitFor('the page to show a settled caption after its partial', async () => {
        const log = await pageLog();
        for (const [index, entry] of log.entries()) {
          if (!entry.partial) continue;
          const later = log.slice(index + 1).find((candidate) => candidate.id === entry.id && !candidate.partial);
          if (later) return { partial: entry, settled: later };
        }
        return undefined;
      }, 60_000, 250);
      // The caption box holds exactly the final's text: the partial was replaced, not left in front of it.
      expect(settledOnPage.settled.shown.replace(/\n/g, ' ')).toBe(settledOnPage.settled.text);
      expect(await viewer.getByTestId('captions').getAttribute('data-partial')).toMatch(/^(true|false)$/);
    } finally {
      await viewer.close();
    }
  }, 150_000);

  it('offers the captions with LL-HLS: ll-master.m3u8 lists the WebVTT rendition beside ll.m3u8, its segments carry the words, and hls.js in low-latency mode loads them', async () => {
    const master = await waitFor('ll-master.m3u8', async () => {
      const response = await fetch(`${server.url}/hls/${stream.id}/ll-master.m3u8`);
      return response.ok ? response.text() : undefined;
    }, 30_000, 250);
    expect(master).toContain('#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="captions",NAME="Live captions",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="ll-captions.m3u8"');
    expect(master).toMatch(/SUBTITLES="captions"\nll\.m3u8\n/);
    // The WebVTT segments carry the spoken words, on the fMP4 timeline (which starts at 0); the two the playlist
    // names ahead of writing them are held by the server until they are written, so every listed name answers.
    const heard = await waitFor('LL-HLS caption segments with spoken words', async () => {
      const playlist = await (await fetch(`${server.url}/hls/${stream.id}/ll-captions.m3u8`)).text();
      const names = [...playlist.matchAll(/^(ll-captions-\d+\.vtt)$/gm)].map((match) => match[1]!);
      const texts = await Promise.all(names.map(async (name) => (await fetch(`${server.url}/hls/${stream.id}/${name}`)).text()));
      expect(texts.every((text) => text.startsWith('WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n'))).toBe(true);
      const words = new Set(texts.flatMap((text) => normaliseWords(text.replace(/^.*-->.*$/gm, ''))));
      const found = EXPECTED.filter((word) => words.has(word));
      return found.length > 0 ? found : undefined;
    }, 40_000, 500);
    expect(heard.length).toBeGreaterThan(0);

    // A player on the multivariant playlist, in low-latency mode: parts in use, the captions track found, its cues on the video's timeline.
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}/healthz`);
      await page.addScriptTag({ url: '/vendor/hls.min.js' });
      await page.evaluate((url) => {
        const Hls = (window as unknown as { Hls: any }).Hls;
        const video = document.createElement('video');
        video.muted = true;
        video.autoplay = true;
        document.body.append(video);
        const state = { subtitleTracks: 0, parts: 0 };
        (window as unknown as { player: typeof state }).player = state;
        // hls.js's own account of the captions track, printed if the cues never come.
        const subtitleLog: string[] = [];
        (window as unknown as { subtitleLog: string[] }).subtitleLog = subtitleLog;
        const keep = (...args: unknown[]): void => {
          const line = args.map(String).join(' ');
          if (/subtitle/i.test(line)) subtitleLog.push(`${(performance.now() / 1000).toFixed(2)} ${line.slice(0, 300)}`);
        };
        const hls = new Hls({ lowLatencyMode: true, debug: { log: keep, debug: keep, info: keep, warn: keep, error: keep } });
        hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, () => (state.subtitleTracks = hls.subtitleTracks.length));
        hls.on(Hls.Events.LEVEL_UPDATED, (_event: unknown, data: { details: { partList: unknown[] | null } }) => (state.parts = data.details.partList?.length ?? 0));
        hls.attachMedia(video);
        // The rendition is DEFAULT=YES, AUTOSELECT=YES: hls.js selects it by itself.
        hls.loadSource(url);
      }, `/hls/${stream.id}/ll-master.m3u8`);
      type PlayerState = { subtitleTracks: number; parts: number };
      const player = (): Promise<PlayerState> => page.evaluate(() => (window as unknown as { player: PlayerState }).player);
      await expect.poll(async () => (await player()).subtitleTracks, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
      await expect.poll(async () => (await player()).parts, { timeout: 30_000 }).toBeGreaterThan(0);
      // hls.js put the rendition's cues on the text track, close to what is playing (the rendition is on the fMP4 clock).
      let seen = 'nothing yet';
      const nearest = await waitFor('a caption cue near the playing position', async () => {
        const state = await page.evaluate(() => {
          const video = document.querySelector('video')!;
          const cues = Array.from(video.textTracks as unknown as ArrayLike<TextTrack>).flatMap((track) => Array.from((track.cues ?? []) as unknown as ArrayLike<TextTrackCue>)) as VTTCue[];
          return { currentTime: video.currentTime, starts: cues.filter((cue) => cue.text.trim() !== '').map((cue) => cue.startTime) };
        });
        seen = `currentTime ${state.currentTime.toFixed(2)}, cue starts [${state.starts.map((start) => start.toFixed(2)).join(', ')}]`;
        if (state.starts.length === 0 || state.currentTime === 0) return undefined;
        return Math.min(...state.starts.map((start) => Math.abs(start - state.currentTime)));
      }, 40_000, 250).catch(async (error: Error) => {
        console.log((await page.evaluate(() => (window as unknown as { subtitleLog: string[] }).subtitleLog.slice(-60))).join('\n'));
        throw new Error(`${error.message} (${seen})`);
      });
      console.log(`LL-HLS captions: nearest cue start ${nearest.toFixed(2)} s from the playing position`);
      // Speech loops every few seconds, so a cue on the right clock starts within seconds of the playhead (an MPEG-TS offset would not break this, a wrong clock would).
      expect(nearest).toBeLessThan(10);
    } finally {
      await page.close();
    }
  }, 150_000);

  it('keeps only final words in the recording\'s transcript', async () => {
    const recording = await recordingInProgress(server.url, stream.id);
    const transcriptNow = async (): Promise<{ words: { word: string }[] }> => (await fetch(`${server.url}/v1/recordings/${recording.id}/transcript`)).json() as Promise<{ words: { word: string }[] }>;
    const sofar = await waitFor('transcript words', async () => {
      const transcript = await transcriptNow();
      return transcript.words.length > 5 ? transcript : undefined;
    }, 30_000, 250);
    // A word reaches the transcript and the viewers' socket from the same final: give the socket a moment to catch up.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // Every word of the transcript is in a settled caption (the recogniser's final), none only in a partial (numbers as the captions write them).
    const settled = new Set(received.filter((entry) => entry.cue.partial === false).flatMap((entry) => normaliseWords(entry.cue.text)));
    const onlyPartial = writeNumbersAsDigits(sofar.words.map((word) => ({ word: word.word, startMs: 0, endMs: 0 })))
      .flatMap((word) => normaliseWords(word.word))
      .filter((word) => !settled.has(word));
    expect(onlyPartial).toEqual([]);

    await publisher.stop();
    const done = await waitFor('the recording to complete', async () => {
      const view = (await (await fetch(`${server.url}/v1/recordings/${recording.id}`)).json()) as { state: string; counts: { transcriptWords: number } };
      return view.state === 'complete' ? view : undefined;
    }, 30_000, 250);
    expect(done.counts.transcriptWords).toBe((await transcriptNow()).words.length);
  }, 90_000);
});
