import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Fmp4FragmentReader, type Fmp4Fragment } from '../core/media/fmp4-fragment-reader.js';
import { LivefxError } from '../core/errors.js';
import { LowLatencyPlaylist } from '../server/pipeline/low-latency-playlist.js';

const run = promisify(execFile);

/** 3 s of 30 fps H.264 (keyframe every 30 frames) and 2.5 s of AAC (so no part is audio alone) as ffmpeg writes LL-HLS fMP4: what the worker reads from the muxer. */
async function fragmentedMp4(): Promise<Buffer> {
  const { stdout } = await run(
    'ffmpeg',
    [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30:duration=3', '-f', 'lavfi', '-i', 'sine=duration=2.5'],
      ...['-c:v', 'libx264', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-c:a', 'aac'],
      ...['-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '200000', 'pipe:1'],
    ],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

function read(bytes: Buffer, chunkSize: number): { inits: Buffer[]; fragments: Fmp4Fragment[]; errors: Error[] } {
  const result = { inits: [] as Buffer[], fragments: [] as Fmp4Fragment[], errors: [] as Error[] };
  const reader = new Fmp4FragmentReader({
    onInit: (init) => result.inits.push(Buffer.from(init)),
    onFragment: (fragment) => result.fragments.push(fragment),
    onError: (error) => result.errors.push(error),
    initialBytes: 1024,
  });
  for (let offset = 0; offset < bytes.length; offset += chunkSize) reader.push(bytes.subarray(offset, offset + chunkSize));
  return result;
}

describe('Fmp4FragmentReader', () => {
  it('splits the muxer output into the init segment and moof+mdat parts, timed by the video track, whatever the chunking', async () => {
    const file = await fragmentedMp4();
    const whole = read(file, file.length);
    expect(whole.errors).toEqual([]);
    expect(whole.inits).toHaveLength(1);
    expect(whole.inits[0]!.toString('latin1', 4, 8)).toBe('ftyp');
    // Every byte is in the init or a part (ffmpeg writes a trailing mfra, which is skipped).
    const covered = whole.inits[0]!.length + whole.fragments.reduce((sum, fragment) => sum + fragment.bytes.byteLength, 0);
    expect(covered).toBeLessThanOrEqual(file.length);
    expect(covered).toBeGreaterThan(file.length - 1024);
    const total = whole.fragments.reduce((sum, fragment) => sum + fragment.durationS, 0);
    expect(total).toBeCloseTo(3, 1);
    for (const fragment of whole.fragments) {
      expect(Buffer.from(fragment.bytes).toString('latin1', 4, 8)).toBe('moof');
      expect(fragment.durationS).toBeGreaterThan(0);
      expect(fragment.durationS).toBeLessThanOrEqual(0.25);
    }
    // Keyframes at 0, 1 and 2 s start the independent parts, and only those.
    expect(whole.fragments.filter((fragment) => fragment.independent)).toHaveLength(3);
    expect(whole.fragments[0]!.independent).toBe(true);
    // One byte or 7 bytes at a time: the same parts.
    for (const chunkSize of [1, 7, 4096]) {
      const chunked = read(file, chunkSize);
      expect(chunked.errors).toEqual([]);
      expect(chunked.fragments.map((fragment) => [fragment.bytes.byteLength, fragment.durationS, fragment.independent])).toEqual(
        whole.fragments.map((fragment) => [fragment.bytes.byteLength, fragment.durationS, fragment.independent]),
      );
    }
  }, 60_000);

  it('reports a stream that is not fragmented MP4', () => {
    const garbage = read(Buffer.from('this is not an mp4 file at all, just text'), 8);
    expect(garbage.errors).toHaveLength(1);
    expect(garbage.errors[0]!.message).toMatch(/fMP4 box/);
  });
});

const PART = Buffer.from('part');

/** A playlist fed with 0.2 s parts, a keyframe every 5 parts (1 s). */
function fed(parts: number, playlist = new LowLatencyPlaylist({ segmentS: 1, targetDurationS: 1, listSize: 3 })): LowLatencyPlaylist {
  if (parts > 0) playlist.setInit(Buffer.from('init'));
  for (let index = 0; index < parts; index++) playlist.addPart(PART, 0.2, index % 5 === 0);
  return playlist;
}

describe('LowLatencyPlaylist', () => {
  it('starts a segment at each keyframe part once the segment length is reached, and keeps only listSize segments', async () => {
    const playlist = fed(30);
    const text = await playlist.playlist();
    // 6 segments made, 5 complete: the 3 newest complete ones are listed, with the open one.
    expect(text).toContain('#EXT-X-MEDIA-SEQUENCE:2\n');
    expect(text.match(/^#EXTINF:1\.00000,$/gm)).toHaveLength(3);
    expect(text).toContain('#EXT-X-PART:DURATION=0.20000,URI="ll-5.4.m4s"\n');
    expect(text).toContain('#EXT-X-PART:DURATION=0.20000,URI="ll-5.0.m4s",INDEPENDENT=YES\n');
    expect(text.trim().split('\n').at(-1)).toBe('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="ll-5.5.m4s"');
    expect(playlist.segmentBytes(1)).toBeUndefined();
    expect(playlist.segmentBytes(2)).toEqual(Buffer.concat([PART, PART, PART, PART, PART]));
    expect(playlist.segmentBytes(5)).toBeUndefined(); // still open
    playlist.close();
  });

  it('dates each segment (EXT-X-PROGRAM-DATE-TIME) from the muxer\'s origin, so a player can line the captions rendition up with it', async () => {
    const playlist = new LowLatencyPlaylist({ segmentS: 1, targetDurationS: 1, listSize: 3 });
    const originMs = Date.UTC(2026, 11, 6, 12, 0, 0);
    playlist.setInit(Buffer.from('init'), originMs);
    for (let index = 0; index < 12; index++) playlist.addPart(PART, 0.2, index % 5 === 0);
    const text = await playlist.playlist();
    expect(text.match(/^#EXT-X-PROGRAM-DATE-TIME:.*$/gm)).toEqual(['#EXT-X-PROGRAM-DATE-TIME:2026-12-06T12:00:00.000Z', '#EXT-X-PROGRAM-DATE-TIME:2026-12-06T12:00:01.000Z', '#EXT-X-PROGRAM-DATE-TIME:2026-12-06T12:00:02.000Z']);
    // Without an origin (as before) no dates.
    expect(await fed(12).playlist()).not.toContain('PROGRAM-DATE-TIME');
    playlist.close();
  });

  it('cuts a segment that would pass the target duration even without a keyframe', async () => {
    const playlist = fed(0);
    playlist.setInit(Buffer.from('init'));
    for (let index = 0; index < 12; index++) playlist.addPart(PART, 0.2, index === 0);
    const text = await playlist.playlist();
    expect(text.match(/^#EXTINF:([\d.]+),$/gm)!.map((line) => Math.round(Number(line.slice(8, -1))))).toEqual([1]);
    expect(text).toMatch(/URI="ll-1\.0\.m4s"\n/); // not independent: cut without a keyframe
    playlist.close();
  });

  it('marks a muxer restart with a discontinuity and a new map, and counts discontinuities that slid out', async () => {
    const playlist = fed(10);
    playlist.setInit(Buffer.from('init 2'));
    for (let index = 0; index < 5; index++) playlist.addPart(PART, 0.2, index === 0);
    let text = await playlist.playlist();
    expect(text).toContain('#EXT-X-MAP:URI="ll-init-1.mp4"');
    expect(text).toMatch(/#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="ll-init-2.mp4"\n/);
    expect(playlist.initBytes(2)).toEqual(Buffer.from('init 2'));
    for (let index = 0; index < 25; index++) playlist.addPart(PART, 0.2, index % 5 === 0);
    text = await playlist.playlist();
    expect(text).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:1\n');
    expect(text).not.toContain('ll-init-1.mp4');
    expect(playlist.initBytes(1)).toBeUndefined();
    playlist.close();
  });

  it('holds a blocking request until its part exists, refuses what the spec calls bad, and answers waiters when closed', async () => {
    const playlist = fed(3);
    let answered = false;
    const waiting = playlist.playlist(0, 4).then((text) => {
      answered = true;
      return text;
    });
    playlist.addPart(PART, 0.2, false);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(answered).toBe(false);
    playlist.addPart(PART, 0.2, false);
    expect(await waiting).toContain('URI="ll-0.4.m4s"');
    // A part past the end of its segment: satisfied by the first part of the next one.
    const past = playlist.playlist(0, 6);
    const hinted = playlist.part(0, 5);
    playlist.addPart(PART, 0.2, true);
    expect(await past).toContain('URI="ll-1.0.m4s"');
    expect(await hinted).toBeUndefined();

    const codeOf = (promise: Promise<unknown>) => promise.then(() => 'answered', (error: LivefxError) => error.code);
    expect(await codeOf(playlist.playlist(4))).toBe('invalid_query');
    expect(await codeOf(playlist.playlist(1, 5))).toBe('invalid_query');
    expect(await codeOf(playlist.playlist(2, 3))).toBe('invalid_query');
    expect(await codeOf(playlist.playlist(undefined, 1))).toBe('invalid_query');
    const left = playlist.playlist(2);
    playlist.close();
    expect(await codeOf(left)).toBe('not_ready');
  });

  it('waits for any part of a long segment (parts cut short by keyframes), not only as many as the part target fits', async () => {
    const playlist = fed(0);
    playlist.setInit(Buffer.from('init'));
    for (let index = 0; index < 9; index++) playlist.addPart(PART, 0.1, index % 3 === 0);
    const waiting = playlist.playlist(0, 9);
    playlist.addPart(PART, 0.1, false);
    expect(await waiting).toContain('URI="ll-0.9.m4s"');
    playlist.close();
  });

  it('ends a wait after three target durations with hls_wait_timeout', async () => {
    const playlist = fed(1);
    const started = Date.now();
    const error = (await playlist.playlist(0, 2).catch((caught: unknown) => caught)) as LivefxError;
    expect(error.code).toBe('hls_wait_timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    playlist.close();
  }, 30_000);
});
