import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goLiveInNewPage } from './helpers/browser-pages.js';
import { closeAfterTests, startServerAndChromium } from './helpers/test-lifecycle.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, recordingInProgress, waitFor, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';

let server: RunningServer;
let browser: Browser;
const pageErrors: string[] = [];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  ({ server, browser } = await startServerAndChromium({ LIVEFX_MEDIA_TIMEOUT_S: '3' }));
});

afterAll(() => closeAfterTests({ server, browser }));

interface ProbedStream {
  codec_type: string;
  codec_name: string;
}

function probe(file: string): { durationS: number; streams: ProbedStream[] } {
  const result = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name', '-of', 'json', file], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  const parsed = JSON.parse(result.stdout) as { format: { duration: string }; streams: ProbedStream[] };
  return { durationS: Number(parsed.format.duration), streams: parsed.streams };
}

/** A watch page in its own browser context (its own remembered chat name), joined to the chat. */
async function openViewer(url: string, name: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
  await page.goto(`${server.url}${url}`);
  await page.getByTestId('chat-name').fill(name);
  await page.getByTestId('chat-join').click();
  await expect.poll(() => page.getByTestId('chat-input').isVisible(), { timeout: 5000 }).toBe(true);
  return page;
}

describe('browser: a recorded session with chat and reactions', () => {
  it('records 30 s of a browser publisher: both media files play for the session length with video and Opus, and every chat, reaction, viewer and chain event is on the session clock', async () => {
    const stream = await createStream(server.url, 'recorded show');
    const publisher = await goLiveInNewPage(browser, `${server.url}${stream.urls.publish!}&source=pattern`, pageErrors);
    const recording = await recordingInProgress(server.url, stream.id);
    expect(recording.state).toBe('recording');
    const startedMs = Date.parse(recording.startedAt);
    const sessionNow = (): number => (Date.now() - startedMs) / 1000;
    /** Waits until the session clock reads `seconds`, so each action happens at a known moment. */
    const until = async (seconds: number): Promise<void> => sleep(Math.max(0, seconds * 1000 - (Date.now() - startedMs)));

    const alice = await openViewer(stream.urls.watch!, 'Alice');
    const bob = await openViewer(stream.urls.watch!, 'Bob');
    await expect
      .poll(async () => ((await (await fetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { stats: { viewers: { webrtc: number } } }).stats.viewers.webrtc, { timeout: 15_000 })
      .toBe(2);

    /** Each click, from just before playwright starts it (`atS`) to when it has been dispatched (`clickedS`: under load its actionability checks took a while). */
    const sent: { type: 'chat' | 'reaction'; user: string; text?: string; kind?: string; atS: number; clickedS: number }[] = [];
    const say = async (page: Page, user: string, text: string): Promise<void> => {
      await page.getByTestId('chat-input').fill(text);
      const atS = sessionNow();
      await page.getByTestId('chat-send').click();
      sent.push({ type: 'chat', user, text, atS, clickedS: sessionNow() });
      await expect.poll(() => page.getByTestId('chat-input').inputValue(), { timeout: 5000 }).toBe('');
    };
    const react = async (page: Page, user: string, kind: string): Promise<void> => {
      const atS = sessionNow();
      await page.getByTestId(`react-${kind}`).click();
      sent.push({ type: 'reaction', user, kind, atS, clickedS: sessionNow() });
    };

    await until(8);
    await say(alice, 'Alice', 'hello from Alice');
    await until(10);
    await react(bob, 'Bob', 'like');
    await until(12);
    await say(bob, 'Bob', 'hi Alice, nice stream');
    await react(alice, 'Alice', 'laugh');
    await until(15);
    const chainResponse = await fetch(`${server.url}/v1/streams/${stream.id}/transforms`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ transforms: [{ name: 'color', params: { brightness: 0.2 } }] }),
    });
    const chainAtS = sessionNow();
    expect(chainResponse.status).toBe(200);
    await until(18);
    await react(alice, 'Alice', 'wow');
    // A second apart: two viewers' clicks in the same instant reach the server in either order.
    await until(19);
    await react(bob, 'Bob', 'heart');
    await until(21);
    await say(alice, 'Alice', 'bye, see you');
    // Alice closes her tab: her page says goodbye (WHEP DELETE on pagehide). Closing her whole browser
    // context at once could drop that request with the context under load; werift would then notice
    // only after consent to send expires (30 s), after this session has ended.
    await alice.close();
    const aliceLeftAtS = sessionNow();
    await until(30);
    await publisher.getByTestId('stop').click();
    const stoppedAtS = sessionNow();

    const done = await waitFor(
      'the recording to complete',
      async () => {
        const view = (await (await fetch(`${server.url}/v1/recordings/${recording.id}`)).json()) as {
          state: string;
          durationS: number;
          media: { original: string; transformed: string };
          counts: { chat: number; reactions: number };
        };
        return view.state === 'complete' ? view : undefined;
      },
      10_000,
    );
    expect(Math.abs(done.durationS - stoppedAtS)).toBeLessThan(1);
    expect(done.counts).toMatchObject({ chat: 3, reactions: 4 });

    for (const kind of ['original', 'transformed'] as const) {
      const response = await fetch(`${server.url}${done.media[kind]}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('video/mp4');
      const file = path.join(server.dataDir, `downloaded-${kind}.mp4`);
      await writeFile(file, Buffer.from(await response.arrayBuffer()));
      const probed = probe(file);
      expect(Math.abs(probed.durationS - done.durationS), `${kind}: ${probed.durationS} s of a ${done.durationS} s session`).toBeLessThan(1);
      expect(probed.streams.map((entry) => `${entry.codec_type}:${entry.codec_name}`).sort()).toEqual(['audio:opus', 'video:h264']);
    }

    const events = (await (await fetch(`${server.url}/v1/recordings/${recording.id}/events`)).text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { t: number; type: string; [key: string]: unknown });
    expect(events[0]).toMatchObject({ t: 0, type: 'state', state: 'live' });
    expect(events.at(-1)).toMatchObject({ type: 'state', state: 'ended' });
    expect(events.map((event) => event.t)).toEqual([...events.map((event) => event.t)].sort((a, b) => a - b));

    // Every message and reaction the viewers sent, in order, each within a second of its click.
    const archived = events.filter((event) => event.type === 'chat' || event.type === 'reaction');
    expect(archived.map((event) => (event.type === 'chat' ? `${String(event.user)}: ${String(event.text)}` : `${String(event.user)} ${String(event.kind)}`))).toEqual(
      sent.map((entry) => (entry.type === 'chat' ? `${entry.user}: ${entry.text!}` : `${entry.user} ${entry.kind!}`)),
    );
    // Not before its click began, and within a second of the click (one loaded run: 1.15 s from the start of a click to the archive).
    console.log(`recorded session, click dispatched → archived (s): ${archived.map((event, index) => (event.t - sent[index]!.clickedS).toFixed(3)).join(' ')}`);
    archived.forEach((event, index) => {
      const { atS, clickedS } = sent[index]!;
      const when = `${event.type} at ${event.t} s, clicked at ${atS}–${clickedS} s`;
      expect(event.t, when).toBeGreaterThanOrEqual(atS - 0.05);
      expect(event.t - clickedS, when).toBeLessThan(1);
    });

    // Viewers: none at the start, two once both pages played, fewer after Alice left.
    const viewers = events.filter((event) => event.type === 'viewers');
    const counts = viewers.map((event) => event.count as number);
    expect(counts[0]).toBe(0);
    const peak = counts.indexOf(2);
    expect(peak, `viewer counts ${counts.join(', ')}`).toBeGreaterThan(0);
    const afterLeave = viewers.findIndex((event, index) => index > peak && (event.count as number) < 2);
    expect(afterLeave, `viewer counts ${counts.join(', ')}`).toBeGreaterThan(peak);
    expect(Math.abs(viewers[afterLeave]!.t - aliceLeftAtS)).toBeLessThan(2);

    const chains = events.filter((event) => event.type === 'chain');
    expect(chains).toHaveLength(1);
    expect(chains[0]).toMatchObject({ transforms: [expect.objectContaining({ name: 'color', params: expect.objectContaining({ brightness: 0.2 }) })] });
    expect(Math.abs(chains[0]!.t - chainAtS)).toBeLessThan(1);

    await alice.context().close();
    await bob.context().close();
    await publisher.close();
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
