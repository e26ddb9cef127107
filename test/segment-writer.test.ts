import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SegmentWriter, type CompletedSegment } from '../recorder/segment-writer.js';

const TRACK = { codec: 'VP8', width: 320, height: 240 } as const;
const FRAME = Buffer.alloc(64, 1);
const FRAME_MS = 1000 / 30;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'livefx-segment-writer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Feeds `seconds` of 30 fps video from a publisher that sends a keyframe on its own every `intervalS`
 * and answers a request (two frames later, as Chromium does) only when its last keyframe is at least
 * `minGapS` old; returns the segments and the request times.
 */
function record(options: { segmentS: number; seconds: number; intervalS: number; minGapS: number }): { segments: CompletedSegment[]; asks: number[] } {
  const segments: CompletedSegment[] = [];
  const asks: number[] = [];
  let nowMs = 0;
  let lastKeyMs = Number.NEGATIVE_INFINITY;
  let keyDueMs: number | undefined;
  const writer = new SegmentWriter({
    recordingDir: dir,
    kind: 'original',
    segmentS: options.segmentS,
    onSegment: (segment) => segments.push(segment),
    requestKeyframe: () => {
      asks.push(nowMs);
      if (keyDueMs === undefined && nowMs - lastKeyMs >= options.minGapS * 1000) keyDueMs = nowMs + 2 * FRAME_MS;
    },
  });
  for (let frame = 0; frame * FRAME_MS < options.seconds * 1000; frame++) {
    nowMs = frame * FRAME_MS;
    const keyframe = frame === 0 || nowMs - lastKeyMs >= options.intervalS * 1000 || (keyDueMs !== undefined && nowMs >= keyDueMs);
    if (keyframe) {
      lastKeyMs = nowMs;
      keyDueMs = undefined;
    }
    writer.writeVideo(FRAME, nowMs, keyframe, keyframe ? TRACK : undefined);
  }
  writer.close();
  return { segments, asks };
}

describe('SegmentWriter: segments end at the keyframe the writer asks for', () => {
  it('ends a 4 s segment at the first keyframe it asked for, from a publisher that ignores requests within 1 s of its last keyframe', () => {
    // Chromium sends keyframes rarely on its own and answers a request in a few frames, but not one right after its last keyframe.
    const { segments, asks } = record({ segmentS: 4, seconds: 20, intervalS: 60, minGapS: 1 });
    expect(asks.length).toBeGreaterThan(0);
    const whole = segments.slice(0, -1);
    expect(whole.length, JSON.stringify(segments)).toBeGreaterThanOrEqual(5);
    for (const segment of whole) {
      expect(segment.durationS, JSON.stringify(segments)).toBeLessThanOrEqual(4);
      expect(segment.durationS, JSON.stringify(segments)).toBeGreaterThanOrEqual(3);
    }
  });

  it('makes segments of at least half of a short segmentS however often keyframes come', () => {
    const { segments } = record({ segmentS: 1, seconds: 6, intervalS: 0.1, minGapS: 0 });
    for (const segment of segments.slice(0, -1)) expect(segment.durationS, JSON.stringify(segments)).toBeGreaterThanOrEqual(0.5);
    expect(segments.length).toBeGreaterThanOrEqual(5);
  });
});
