import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BurnIn } from '../transforms/burn-in.js';
import { BURN_IN_BLOCKS, burnInBlockSize, captureMsDelta, decodeBurnIn, encodeBurnIn } from '../transforms/burn-in-layout.js';
import { I420Frame } from '../transforms/frame.js';

function readCode(y: Uint8Array, width: number): ReturnType<typeof decodeBurnIn> {
  const block = burnInBlockSize(width);
  const samples = new Uint8Array(BURN_IN_BLOCKS);
  const centre = Math.floor(block / 2);
  for (let index = 0; index < BURN_IN_BLOCKS; index++) samples[index] = y[centre * width + index * block + centre]!;
  return decodeBurnIn(samples);
}

describe('burn-in code', () => {
  it('round-trips frame number and capture time, and rejects a corrupted code', () => {
    const bits = new Uint8Array(BURN_IN_BLOCKS);
    encodeBurnIn({ frameNumber: 0xbeef, captureMsLow: 0xdeadbeef }, bits);
    const luma = Array.from(bits, (bit) => (bit ? 235 : 16));
    expect(decodeBurnIn(luma)).toEqual({ frameNumber: 0xbeef, captureMsLow: 0xdeadbeef });
    luma[20] = luma[20] === 235 ? 16 : 235;
    expect(decodeBurnIn(luma)).toBeUndefined();
  });

  it('fits in the frame width for common sizes', () => {
    for (const width of [320, 640, 1280, 1920]) expect(burnInBlockSize(width) * BURN_IN_BLOCKS).toBeLessThanOrEqual(width);
  });

  it('measures capture deltas across the 2^32 wrap', () => {
    expect(captureMsDelta(2 ** 32 + 5, 2 ** 32 - 10)).toBe(15);
    expect(captureMsDelta(1000, 1200)).toBe(-200);
  });

  it('survives H.264 compression by x264 at a low bitrate', () => {
    const width = 640;
    const height = 360;
    const frames = 10;
    const raw = Buffer.alloc(((width * height * 3) / 2) * frames);
    const burnIn = new BurnIn();
    for (let index = 0; index < frames; index++) {
      const frame = new I420Frame(width, height);
      // Busy noise under the code makes the encoder work for its bits.
      for (let offset = 0; offset < frame.y.length; offset++) frame.y[offset] = (offset * 7919 + index * 31) & 0xff;
      frame.u.fill(90);
      frame.v.fill(160);
      frame.captureMs = 1_700_000_000_000 + index * 33;
      burnIn.apply(frame, { frameIndex: index, frameIntervalMs: 33 });
      frame.buffer.copy(raw, index * frame.buffer.length);
    }
    const encode = spawnSync(
      'ffmpeg',
      ['-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-i', 'pipe:0', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '300k', '-f', 'h264', 'pipe:1'],
      { input: raw, maxBuffer: 64 * 1024 * 1024 },
    );
    expect(encode.status, encode.stderr.toString()).toBe(0);
    const decode = spawnSync('ffmpeg', ['-loglevel', 'error', '-f', 'h264', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'], {
      input: encode.stdout,
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(decode.status, decode.stderr.toString()).toBe(0);
    const frameBytes = (width * height * 3) / 2;
    for (let index = 0; index < frames; index++) {
      const y = decode.stdout.subarray(index * frameBytes, index * frameBytes + width * height);
      expect(readCode(y, width)).toEqual({ frameNumber: index, captureMsLow: (1_700_000_000_000 + index * 33) >>> 0 });
    }
  });
});
