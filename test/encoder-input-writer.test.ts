import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FlvReader } from '../core/media/flv-reader.js';
import { EncoderInputWriter, encoderArgs } from '../core/media/encoder-input-writer.js';

/** Feeds `count` frames through the encoder the way the pipeline does; returns the indices of the keyframes. */
async function keyframesFor(count: number, requested: Set<number>, firstMs: number): Promise<number[]> {
  const width = 160;
  const height = 96;
  const writer = new EncoderInputWriter(width, height);
  const args = encoderArgs({ width, height, kbps: 500, keyframeIntervalS: 1, fps: 30 });
  const encoder = spawn('ffmpeg', args);
  const keyframes: number[] = [];
  let index = 0;
  const reader = new FlvReader({
    onVideo: (tag) => {
      if (tag.avcDecoderConfig) return;
      if (tag.keyframe) keyframes.push(index);
      index++;
    },
  });
  encoder.stdout.on('data', (chunk: Buffer) => reader.push(chunk));
  let errors = '';
  encoder.stderr.on('data', (text: Buffer) => (errors += text.toString()));
  const exited = new Promise((resolve) => encoder.on('exit', resolve));
  encoder.stdin.write(writer.header());
  const frame = Buffer.alloc((width * height * 3) / 2, 128);
  for (let n = 0; n < count; n++) {
    frame.fill(n % 256, 0, width);
    // This loop writes faster than the pipe drains, so copy the header (the pipeline has at most 4 frames in flight).
    writer.writeFrameHeader(firstMs + n * 33.4, requested.has(n), (bytes) => encoder.stdin.write(Buffer.from(bytes)));
    encoder.stdin.write(Buffer.from(frame));
  }
  encoder.stdin.end();
  await exited;
  expect(index, errors).toBe(count);
  return keyframes;
}

describe('EncoderInputWriter', () => {
  it('gets a keyframe exactly where one is requested, and one per interval otherwise', async () => {
    expect(await keyframesFor(100, new Set(), 0)).toEqual([0, 30, 60, 90]);
    expect(await keyframesFor(100, new Set([10, 45]), 0)).toEqual([0, 10, 40, 45, 75]);
  });

  it('keeps the meaning when the first frame is requested or starts on an odd millisecond', async () => {
    expect(await keyframesFor(70, new Set([0, 20]), 7)).toEqual([0, 20, 50]);
  });
});

describe('encoder rate control', () => {
  it('spends the bitrate it is given (x264 must not mistake the 1 ms time base for 1000 fps)', async () => {
    const width = 640;
    const height = 360;
    const frames = 90;
    const raw = spawnSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=30`, '-frames:v', String(frames), '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'], { maxBuffer: 1 << 28 }).stdout;
    const encoder = spawn('ffmpeg', encoderArgs({ width, height, kbps: 1000, keyframeIntervalS: 1, fps: 30 }));
    let bytes = 0;
    encoder.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    const exited = new Promise((resolve) => encoder.on('exit', resolve));
    const writer = new EncoderInputWriter(width, height);
    encoder.stdin.write(writer.header());
    const frameBytes = (width * height * 3) / 2;
    for (let n = 0; n < frames; n++) {
      writer.writeFrameHeader(n * 33.33, false, (header) => encoder.stdin.write(Buffer.from(header)));
      encoder.stdin.write(raw.subarray(n * frameBytes, (n + 1) * frameBytes));
    }
    encoder.stdin.end();
    await exited;
    const kbps = (bytes * 8) / (frames / 30) / 1000;
    expect(kbps).toBeGreaterThan(600);
    expect(kbps).toBeLessThan(1600);
  });
});
