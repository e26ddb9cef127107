import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAvcDecoderConfig, parseAvcDecoderConfig } from '../core/media/avc-decoder-config.js';
import { FlvReader, type FlvVideoTag } from '../core/media/flv-reader.js';
import { parseH264Sps } from '../core/rtp/h264-sps.js';

const run = promisify(execFile);
const FRAME_COUNT = 60;
/** FLV header (9 bytes) plus PreviousTagSize0. */
const FLV_BODY_START = 13;

let directory: string;
/** Video only, as the pipeline's encoder writes it. */
let videoFlv: Buffer;
/** Video plus AAC audio, to prove audio tags are skipped. */
let videoAudioFlv: Buffer;

const x264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30', '-bf', '0'];

beforeAll(async () => {
  directory = mkdtempSync(path.join(tmpdir(), 'livefx-flv-'));
  const videoFile = path.join(directory, 'video.flv');
  const videoAudioFile = path.join(directory, 'video-audio.flv');
  const source = ['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30'];
  const frames = ['-frames:v', String(FRAME_COUNT)];
  await Promise.all([
    run('ffmpeg', ['-v', 'error', '-y', ...source, ...frames, ...x264, '-f', 'flv', videoFile]),
    run('ffmpeg', ['-v', 'error', '-y', ...source, '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', ...frames, ...x264, '-c:a', 'aac', '-f', 'flv', videoAudioFile]),
  ]);
  videoFlv = readFileSync(videoFile);
  videoAudioFlv = readFileSync(videoAudioFile);
});

afterAll(() => {
  if (directory) rmSync(directory, { recursive: true, force: true });
});

/** Deterministic chunk sizes between 1 and `max`, so a failure can be replayed. */
function seededSizes(seed: number, max: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return 1 + (state % max);
  };
}

function readTags(flv: Buffer, nextSize: () => number): { tags: FlvVideoTag[]; errors: Error[] } {
  const tags: FlvVideoTag[] = [];
  const errors: Error[] = [];
  const reader = new FlvReader({ onVideo: (tag) => tags.push(tag), onError: (error) => errors.push(error) });
  for (let offset = 0; offset < flv.length; ) {
    const size = nextSize();
    reader.push(flv.subarray(offset, offset + size));
    offset += size;
  }
  return { tags, errors };
}

/** Byte offsets of every tag in an FLV file, walked independently of FlvReader. */
function tagOffsets(flv: Buffer): { offset: number; type: number }[] {
  const offsets: { offset: number; type: number }[] = [];
  for (let offset = FLV_BODY_START; offset < flv.length; offset += 11 + flv.readUIntBE(offset + 1, 3) + 4) {
    offsets.push({ offset, type: flv[offset]! & 0x1f });
  }
  return offsets;
}

function expectedTimestamps(): number[] {
  return Array.from({ length: FRAME_COUNT }, (_, index) => Math.round((index * 1000) / 30));
}

function lengthPrefixed(nalUnits: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const nal of nalUnits) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(nal.length);
    parts.push(length, nal);
  }
  return Buffer.concat(parts);
}

describe('FlvReader on real ffmpeg output', () => {
  const chunkings: [string, () => () => number][] = [
    ['1-byte chunks', () => () => 1],
    ['7-byte chunks', () => () => 7],
    ['random chunks', () => seededSizes(42, 3000)],
    ['the whole file at once', () => () => Number.MAX_SAFE_INTEGER],
  ];

  it.each(chunkings)('reads the sequence header and 60 access units from %s', (_, sizes) => {
    const { tags, errors } = readTags(videoFlv, sizes());
    expect(errors).toEqual([]);
    expect(tags[0]!.avcDecoderConfig).toBeDefined();
    expect(tags[0]!.nalUnits).toEqual([]);
    const frames = tags.slice(1);
    expect(frames).toHaveLength(FRAME_COUNT);
    expect(frames.flatMap((tag, index) => (tag.keyframe ? [index] : []))).toEqual([0, 30]);
    expect(frames.map((tag) => tag.timestampMs)).toEqual(expectedTimestamps());
    expect(frames.every((tag) => tag.compositionTimeMs === 0 && tag.avcDecoderConfig === undefined)).toBe(true);
  });

  it('hands on the same bytes whatever the chunking, and they outlive the chunks', () => {
    const whole = readTags(videoFlv, () => Number.MAX_SAFE_INTEGER).tags;
    const copy = Buffer.from(videoFlv);
    const byteWise = readTags(copy, () => 1).tags;
    // Tags split across chunks are assembled in their own buffers, never in one the reader reuses.
    copy.fill(0);
    expect(byteWise).toHaveLength(whole.length);
    byteWise.forEach((tag, index) => {
      const expected = whole[index]!;
      expect((tag.avccPayload ?? tag.avcDecoderConfig)!.equals((expected.avccPayload ?? expected.avcDecoderConfig)!)).toBe(true);
      expect(Buffer.concat(tag.nalUnits).equals(Buffer.concat(expected.nalUnits))).toBe(true);
      expect(tag.nalUnits.map((nal) => nal.length)).toEqual(expected.nalUnits.map((nal) => nal.length));
    });
  });

  it('splits each access unit into NAL units: IDR slices in keyframes only', () => {
    const frames = readTags(videoFlv, () => 7).tags.slice(1);
    for (const tag of frames) {
      expect(lengthPrefixed(tag.nalUnits).equals(tag.avccPayload!)).toBe(true);
      const types = tag.nalUnits.map((nal) => nal[0]! & 0x1f);
      expect(types.includes(5)).toBe(tag.keyframe);
      expect(types.every((type) => type !== 0 && type < 24)).toBe(true);
    }
  });

  it('gives an avcC whose SPS and PPS decode the stream', () => {
    const avcC = readTags(videoFlv, () => 7).tags[0]!.avcDecoderConfig!;
    const config = parseAvcDecoderConfig(avcC);
    expect(config.lengthSize).toBe(4);
    expect(config.sps).toHaveLength(1);
    expect(config.pps).toHaveLength(1);
    const sps = config.sps[0]!;
    const pps = config.pps[0]!;
    expect(sps[0]! & 0x1f).toBe(7);
    expect(pps[0]! & 0x1f).toBe(8);
    expect(config.profile).toBe(sps[1]);
    expect(config.level).toBe(sps[3]);
    expect(parseH264Sps(sps)).toMatchObject({ width: 640, height: 360, profileIdc: config.profile, levelIdc: config.level });
    // ffmpeg writes the same minimal record for this constrained-baseline stream.
    expect(buildAvcDecoderConfig(sps, pps)).toEqual(avcC);

    // Parameter sets plus the access units as an Annex-B stream: ffmpeg must decode all 60 frames cleanly.
    const startCode = Buffer.from([0, 0, 0, 1]);
    const frames = readTags(videoFlv, () => Number.MAX_SAFE_INTEGER).tags.slice(1);
    const annexB = Buffer.concat([startCode, sps, startCode, pps, ...frames.flatMap((tag) => tag.nalUnits.flatMap((nal) => [startCode, nal]))]);
    const decoded = spawnSync('ffmpeg', ['-v', 'error', '-f', 'h264', '-i', 'pipe:0', '-f', 'framecrc', 'pipe:1'], { input: annexB });
    expect(decoded.stderr.toString()).toBe('');
    expect(decoded.stdout.toString().split('\n').filter((line) => /^\s*0,/.test(line))).toHaveLength(FRAME_COUNT);
  });

  it('skips audio and script tags', () => {
    expect(tagOffsets(videoAudioFlv).some((tag) => tag.type === 8)).toBe(true);
    expect(tagOffsets(videoAudioFlv).some((tag) => tag.type === 18)).toBe(true);
    const { tags, errors } = readTags(videoAudioFlv, seededSizes(7, 500));
    expect(errors).toEqual([]);
    const frames = tags.filter((tag) => !tag.avcDecoderConfig);
    expect(frames).toHaveLength(FRAME_COUNT);
    // ffmpeg delays the video by the AAC encoder's priming (1024 samples), so compare from the first frame.
    const first = frames[0]!.timestampMs;
    expect(first).toBeLessThan(50);
    const expected = expectedTimestamps();
    // Within 1 ms: the shifted times round differently.
    expect(frames.filter((tag, index) => Math.abs(tag.timestampMs - first - expected[index]!) > 1)).toEqual([]);
  });

  it('reads the extended timestamp byte as bits 24 to 31', () => {
    const flv = Buffer.from(videoFlv);
    const video = tagOffsets(flv).filter((tag) => tag.type === 9);
    const patched = video[1]!.offset;
    // 0xfedcba98 ms: lower 24 bits big-endian, then the upper byte.
    flv.writeUIntBE(0xdcba98, patched + 4, 3);
    flv[patched + 7] = 0xfe;
    const { tags } = readTags(flv, () => 5);
    expect(tags[1]!.timestampMs).toBe(0xfedcba98);
  });
});

describe('FlvReader on bad data', () => {
  it('reports a stream that is not FLV, once, and then ignores input', () => {
    const errors: Error[] = [];
    const tags: FlvVideoTag[] = [];
    const reader = new FlvReader({ onVideo: (tag) => tags.push(tag), onError: (error) => errors.push(error) });
    reader.push(Buffer.from('this is not flv at all'));
    reader.push(videoFlv);
    expect(errors.map((error) => error.message)).toEqual([expect.stringMatching(/not an FLV stream/)]);
    expect(tags).toEqual([]);
  });

  it('reports a PreviousTagSize that does not match the tag before it', () => {
    const flv = Buffer.from(videoFlv);
    const third = tagOffsets(flv)[3]!.offset;
    flv.writeUInt32BE(12345, third - 4);
    const { tags, errors } = readTags(flv, () => 100);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/PreviousTagSize is 12345/);
    // Tags before the corruption were already handed on.
    expect(tags.length).toBeGreaterThan(0);
  });

  it('reports video that is not H.264 and an unknown tag type', () => {
    const notAvc = Buffer.from(videoFlv);
    const firstVideo = tagOffsets(notAvc).find((tag) => tag.type === 9)!.offset;
    notAvc[firstVideo + 11] = 0x12;
    expect(readTags(notAvc, () => 64).errors[0]?.message).toMatch(/codec id 2 is not H.264/);

    const unknownType = Buffer.from(videoFlv);
    unknownType[tagOffsets(unknownType)[1]!.offset] = 3;
    expect(readTags(unknownType, () => 64).errors[0]?.message).toMatch(/tag type 3 is unknown/);
  });

  it('reports a malformed AVC access unit', () => {
    const flv = Buffer.from(videoFlv);
    const frame = tagOffsets(flv).filter((tag) => tag.type === 9)[2]!.offset;
    // The first NAL length now runs far past the end of the tag.
    flv.writeUInt32BE(0x00ffffff, frame + 11 + 5);
    expect(readTags(flv, () => 999).errors[0]?.message).toMatch(/access unit at 33 ms is malformed/);
  });

  it('throws from push when no onError handler is given', () => {
    const reader = new FlvReader({ onVideo: () => undefined });
    expect(() => reader.push(Buffer.from('FLX\x01\x01\x00\x00\x00\x09', 'latin1'))).toThrow(/not an FLV stream/);
  });
});
