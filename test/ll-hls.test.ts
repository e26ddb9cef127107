import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WhipClient } from './helpers/whip-client.js';
import { collectSamples, watchAndMeasure } from './helpers/in-page-media.js';
import { closeAfterTests, scratchFolder, startServerAndChromium } from './helpers/test-lifecycle.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, ffmpegChildren, waitFor, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';

let server: RunningServer;
let browser: Browser;
let publisher: WhipClient;
let streamId: string;
const scratch = scratchFolder('livefx-ll-hls-');

beforeAll(async () => {
  ({ server, browser } = await startServerAndChromium());
  const stream = await createStream(server.url, 'll-hls');
  streamId = stream.id;
  // Video and audio: each part carries both tracks, and the playlist must time parts by the video.
  publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 640, height: 360, audio: 'sine=frequency=440' });
  await publisher.start();
}, 60_000);

afterAll(async () => {
  await publisher?.stop();
  await closeAfterTests({ server, browser });
});

interface ParsedPlaylist {
  tags: Map<string, string>;
  parts: { msn: number; part: number; durationS: number; independent: boolean; uri: string }[];
  segments: { msn: number; durationS: number; uri: string }[];
  map: string;
  hint: string;
}

/** The LL-HLS playlist's lines, read into what the checks need (and fails on a line no LL-HLS playlist of ours has). */
function parse(text: string): ParsedPlaylist {
  const lines = text.trim().split('\n');
  expect(lines[0]).toBe('#EXTM3U');
  const tags = new Map<string, string>();
  const parsed: ParsedPlaylist = { tags, parts: [], segments: [], map: '', hint: '' };
  let extinf: number | undefined;
  for (const line of lines.slice(1)) {
    const [tag, value = ''] = line.startsWith('#') ? [line.slice(0, line.includes(':') ? line.indexOf(':') : undefined), line.slice(line.indexOf(':') + 1)] : [line];
    if (tag === '#EXT-X-PART') {
      const match = /^DURATION=([\d.]+),URI="ll-(\d+)\.(\d+)\.m4s"(,INDEPENDENT=YES)?$/.exec(value);
      expect(match, line).not.toBeNull();
      parsed.parts.push({ msn: Number(match![2]), part: Number(match![3]), durationS: Number(match![1]), independent: match![4] !== undefined, uri: `ll-${match![2]}.${match![3]}.m4s` });
    } else if (tag === '#EXTINF') {
      extinf = Number(value.replace(/,$/, ''));
    } else if (!tag.startsWith('#')) {
      const match = /^ll-(\d+)\.m4s$/.exec(tag);
      expect(match, line).not.toBeNull();
      parsed.segments.push({ msn: Number(match![1]), durationS: extinf!, uri: tag });
    } else if (tag === '#EXT-X-MAP') {
      parsed.map = /^URI="(ll-init-\d+\.mp4)"$/.exec(value)![1]!;
    } else if (tag === '#EXT-X-PRELOAD-HINT') {
      parsed.hint = /^TYPE=PART,URI="(ll-\d+\.\d+\.m4s)"$/.exec(value)![1]!;
    } else {
      tags.set(tag, value);
    }
  }
  return parsed;
}

const playlistUrl = (query = ''): string => `${server.url}/hls/${streamId}/ll.m3u8${query}`;

async function playlistWithSegments(count: number): Promise<ParsedPlaylist> {
  const text = await waitFor(`an LL-HLS playlist with ${count} segments`, async () => {
    const response = await fetch(playlistUrl());
    if (!response.ok) return undefined;
    const body = await response.text();
    return (body.match(/^#EXTINF/gm) ?? []).length >= count ? body : undefined;
  }, 45_000);
  return parse(text);
}

/** The part after the newest one listed: in the open segment, or the first of the next. */
function newest(playlist: ParsedPlaylist): { msn: number; part: number } {
  const last = playlist.parts.at(-1)!;
  return { msn: last.msn, part: last.part };
}

describe('LL-HLS', () => {
  it('lists parts, map, preload hint and server control in a playlist whose numbers add up', async () => {
    const playlist = await playlistWithSegments(3);
    const { tags } = playlist;
    expect(tags.get('#EXT-X-VERSION')).toBe('9');
    const target = Number(tags.get('#EXT-X-TARGETDURATION'));
    expect(Number.isInteger(target) && target >= 1).toBe(true);
    const partTarget = Number(/^PART-TARGET=([\d.]+)$/.exec(tags.get('#EXT-X-PART-INF')!)![1]);
    expect(partTarget).toBeGreaterThan(0.1);
    expect(partTarget).toBeLessThan(0.5);
    const control = /^CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=([\d.]+)$/.exec(tags.get('#EXT-X-SERVER-CONTROL')!);
    expect(control).not.toBeNull();
    expect(Number(control![1])).toBeGreaterThanOrEqual(2 * partTarget);
    expect(playlist.map).toMatch(/^ll-init-\d+\.mp4$/);
    expect(Number(tags.get('#EXT-X-MEDIA-SEQUENCE'))).toBe(playlist.segments[0]!.msn);

    // Segments are numbered in order and listed parts add up to their segment. A segment is cut before
    // it passes the target duration (rounded); only a single part can be longer (a frame that lasted that
    // long: the publisher or encoder stalled on a loaded machine), never several parts joined.
    for (const [index, segment] of playlist.segments.entries()) {
      if (index > 0) expect(segment.msn).toBe(playlist.segments[index - 1]!.msn + 1);
      const parts = playlist.parts.filter((part) => part.msn === segment.msn);
      if (parts.length === 0) continue;
      if (parts.length > 1) expect(Math.round(segment.durationS), `segment ${segment.msn}`).toBeLessThanOrEqual(target);
      expect(parts.map((part) => part.part)).toEqual(parts.map((_part, partIndex) => partIndex));
      expect(parts.reduce((sum, part) => sum + part.durationS, 0)).toBeCloseTo(segment.durationS, 3);
    }
    expect(playlist.parts.length).toBeGreaterThanOrEqual(6);
    // Parts are sub-second (how close to the part target depends on the publisher's frame rate, which a
    // loaded machine lowers; the cut itself is checked on a fixed file in low-latency-playlist.test.ts);
    // keyframes start parts marked independent.
    const durations = playlist.parts.map((part) => part.durationS).sort((a, b) => a - b);
    expect(durations[0]).toBeGreaterThan(0);
    expect(durations[Math.floor(durations.length / 2)]).toBeLessThan(1);
    expect(playlist.parts.some((part) => part.independent)).toBe(true);
    expect(playlist.parts.every((part) => part.part > 0 || part.independent || part.durationS > 0)).toBe(true);
    // The hint names the part after the newest.
    const last = newest(playlist);
    expect([`ll-${last.msn}.${last.part + 1}.m4s`, `ll-${last.msn + 1}.0.m4s`]).toContain(playlist.hint);

    // Readable by a player on another origin, as the other HLS files are.
    for (const name of ['ll.m3u8', playlist.map, playlist.parts[0]!.uri]) {
      const crossOrigin = await fetch(`${server.url}/hls/${streamId}/${name}`, { headers: { origin: 'https://site.example' } });
      expect(crossOrigin.status, name).toBe(200);
      expect(crossOrigin.headers.get('access-control-allow-origin'), name).toBe('*');
      expect(crossOrigin.headers.get('cross-origin-resource-policy'), name).toBe('cross-origin');
    }
  }, 90_000);

  it('holds a blocking playlist reload until the part asked for exists, and refuses bad values', async () => {
    const before = await playlistWithSegments(1);
    const last = newest(before);
    // Two parts past the newest (≈ 0.4 s away): a server that did not block would answer without it.
    const wanted = { msn: last.msn, part: last.part + 2 };
    const response = await fetch(playlistUrl(`?_HLS_msn=${wanted.msn}&_HLS_part=${wanted.part}`));
    expect(response.status).toBe(200);
    const after = parse(await response.text());
    const reached = newest(after);
    expect(reached.msn > wanted.msn || (reached.msn === wanted.msn && reached.part >= wanted.part)).toBe(true);
    expect(before.parts.map((part) => part.uri)).not.toContain(after.parts.at(-1)!.uri);

    // Blocking on the next whole segment.
    const segmentWait = await fetch(playlistUrl(`?_HLS_msn=${reached.msn}`));
    expect(segmentWait.status).toBe(200);
    expect(parse(await segmentWait.text()).segments.map((segment) => segment.msn)).toContain(reached.msn);

    for (const query of ['?_HLS_msn=abc', '?_HLS_msn=-1', '?_HLS_part=1', `?_HLS_msn=${reached.msn + 10}`, `?_HLS_msn=${reached.msn + 2}&_HLS_part=50`]) {
      const refused = await fetch(playlistUrl(query));
      expect(refused.status, query).toBe(400);
      expect(((await refused.json()) as { error: { code: string } }).error.code, query).toBe('invalid_query');
    }
    expect((await fetch(`${server.url}/hls/${streamId}/ll-999999999.0.m4s`)).status).toBe(404);
  }, 60_000);

  it('serves the preload-hinted part once it exists, and init + parts are a valid fMP4 (H.264 and AAC)', async () => {
    const playlist = await playlistWithSegments(2);
    const hinted = await fetch(`${server.url}/hls/${streamId}/${playlist.hint}`);
    if (hinted.status === 200) {
      expect(hinted.headers.get('content-type')).toBe('video/mp4');
      expect(Buffer.from(await hinted.arrayBuffer()).toString('latin1', 4, 8)).toBe('moof');
    } else {
      // The hinted part never came: a keyframe started a new segment instead, which the next playlist shows.
      expect(hinted.status).toBe(404);
      expect(newest(parse(await (await fetch(playlistUrl())).text())).msn).toBeGreaterThan(Number(/^ll-(\d+)/.exec(playlist.hint)![1]));
    }

    const segment = playlist.segments.find((candidate) => playlist.parts.some((part) => part.msn === candidate.msn))!;
    const parts = playlist.parts.filter((part) => part.msn === segment.msn);
    const bytes = async (name: string): Promise<Buffer> => {
      const response = await fetch(`${server.url}/hls/${streamId}/${name}`);
      expect(response.status, name).toBe(200);
      return Buffer.from(await response.arrayBuffer());
    };
    const init = await bytes(playlist.map);
    const partBytes = await Promise.all(parts.map((part) => bytes(part.uri)));
    for (const part of partBytes) expect(part.toString('latin1', 4, 8)).toBe('moof');
    // The whole segment is its parts, joined.
    expect((await bytes(segment.uri)).equals(Buffer.concat(partBytes))).toBe(true);

    const file = path.join(scratch.path, 'init-and-parts.mp4');
    await writeFile(file, Buffer.concat([init, ...partBytes]));
    const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'csv=p=0', file]);
    expect(probe.status, probe.stderr.toString()).toBe(0);
    const streams = probe.stdout.toString().trim().split('\n');
    const video = streams.find((line) => line.startsWith('h264'));
    expect(video).toMatch(/^h264,640,360,\d+/);
    // Each part holds at least one video frame, and every frame decodes (-count_frames decodes them; a decoder error would show on stderr).
    expect(Number(video!.split(',')[3])).toBeGreaterThanOrEqual(parts.length);
    expect(probe.stderr.toString()).toBe('');
    expect(streams.some((line) => line.startsWith('aac'))).toBe(true);
  }, 90_000);

  it('plays in Chromium with hls.js in low-latency mode (parts and blocking reload in use)', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}/healthz`);
      await watchAndMeasure(page, streamId, 'll-hls');
      await page.waitForFunction(() => {
        const state = (window as unknown as { measurement: { frames: number; lowLatency: { parts: number } } }).measurement;
        return state.frames >= 30 && state.lowLatency.parts > 0;
      }, null, { timeout: 45_000 });
      const first = await collectSamples(page);
      expect(first.lowLatency.canBlockReload).toBe(true);
      expect(first.lowLatency.parts).toBeGreaterThan(0);
      expect(first.lowLatency.partTarget).toBeGreaterThan(0);
      // Playback goes on: 30 more frames are presented.
      await page.waitForFunction(() => (window as unknown as { measurement: { frames: number } }).measurement.frames >= 30, null, { timeout: 30_000 });
    } finally {
      await page.close();
    }
  }, 120_000);

  it('goes on after the muxer is killed: a discontinuity, a new init segment, new parts', async () => {
    const before = await playlistWithSegments(1);
    // This stream's HLS muxer: the ffmpeg child of this server writing into this stream's folder.
    const muxers: number[] = [];
    for (const pid of await ffmpegChildren(server.process.pid!)) {
      const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (commandLine.includes(path.join(server.dataDir, 'hls', streamId, 'index.m3u8'))) muxers.push(pid);
    }
    expect(muxers).toHaveLength(1);
    process.kill(muxers[0]!, 'SIGKILL');
    const after = await waitFor('parts after a discontinuity', async () => {
      const text = await (await fetch(playlistUrl())).text();
      const tail = text.slice(text.lastIndexOf('#EXT-X-DISCONTINUITY'));
      return text.includes('#EXT-X-DISCONTINUITY\n') && (tail.match(/^#EXT-X-PART:/gm) ?? []).length >= 3 ? text : undefined;
    }, 45_000);
    expect(after).toMatch(/#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="ll-init-\d+\.mp4"\n/);
    const maps = [...after.matchAll(/#EXT-X-MAP:URI="(ll-init-\d+\.mp4)"/g)].map((match) => match[1]!);
    expect(maps.at(-1)).not.toBe(before.map);
    // Segment numbers go on rising across the restart.
    expect(newest(parse(after)).msn).toBeGreaterThan(newest(before).msn);
    expect((await fetch(`${server.url}/hls/${streamId}/${maps.at(-1)}`)).status).toBe(200);
  }, 90_000);
});
