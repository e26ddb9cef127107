import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DecoderInput, type DecoderResume } from '../server/pipeline/decoder-input.js';

// H.264 access units in Annex-B: an IDR slice (NAL type 5) and a non-IDR slice (type 1), each tagged with its index.
function accessUnit(index: number, keyframe: boolean): Buffer {
  const body = Buffer.alloc(200 + (index % 7) * 31, index & 0xff);
  return Buffer.concat([Buffer.from([0, 0, 0, 1, keyframe ? 0x65 : 0x41]), body]);
}

/** The frames an IVF stream holds, as the decoder's demuxer would cut them (size from each 12-byte header). */
function ivfFrames(bytes: Buffer): Buffer[] {
  expect(bytes.subarray(0, 4).toString('latin1')).toBe('DKIF');
  const frames: Buffer[] = [];
  let offset = 32;
  while (offset < bytes.length) {
    const size = bytes.readUInt32LE(offset);
    expect(offset + 12 + size, `frame ${frames.length} runs past the stream (a corrupt header)`).toBeLessThanOrEqual(bytes.length);
    frames.push(bytes.subarray(offset + 12, offset + 12 + size));
    offset += 12 + size;
  }
  return frames;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function clock(): { now: () => number; advance: (ms: number) => void } {
  let ms = 1_000_000;
  return { now: () => ms, advance: (by) => (ms += by) };
}

describe('decoder input', () => {
  it('under back-pressure writes only whole frames, drops the rest until a keyframe, and the stream parses frame for frame', async () => {
    const time = clock();
    const input = new DecoderInput({ codec: 'H264', now: time.now });
    // A pipe nobody reads for now: a decoder stuck behind a busy consumer.
    const pipe = new PassThrough({ highWaterMark: 1024 });
    input.attach(pipe, 640, 480, false);
    const sent: Buffer[] = [];
    const outcomes: string[] = [];
    for (let index = 0; index < 300; index++) {
      const keyframe = index % 30 === 0;
      const frame = accessUnit(index, keyframe);
      const outcome = input.offer(pipe, frame, index * 3000, time.now(), keyframe);
      outcomes.push(outcome);
      if (outcome === 'written') sent.push(frame);
      time.advance(33);
    }
    // Bounded: a few frames went in, the rest were dropped, never hundreds queued in memory.
    expect(sent.length).toBeLessThanOrEqual(8);
    expect(outcomes.filter((outcome) => outcome === 'dropped').length).toBeGreaterThan(0);
    expect(input.framesDropped).toBeGreaterThan(0);
    // The reader comes back: what it reads is exactly the frames written, whole, in order.
    const chunks: Buffer[] = [];
    // Copied as a real pipe would (the kernel copies; a PassThrough hands on the writer's own buffers).
    pipe.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
    await tick();
    // After the drop the next frame written is a keyframe, never a delta frame.
    const after: Buffer[] = [];
    for (let index = 300; index < 400; index++) {
      const keyframe = index % 30 === 0;
      const frame = accessUnit(index, keyframe);
      input.takeDecoded();
      if (input.offer(pipe, frame, index * 3000, time.now(), keyframe) === 'written') after.push(frame);
      await tick();
      time.advance(33);
    }
    expect(after.length).toBeGreaterThan(0);
    expect(after[0]![4]).toBe(0x65);
    pipe.end();
    await new Promise((resolve) => pipe.once('end', resolve));
    const frames = ivfFrames(Buffer.concat(chunks));
    expect(frames.map((frame) => frame.toString('hex'))).toEqual([...sent, ...after].map((frame) => frame.toString('hex')));
  });

  it('asks for a keyframe again every 500 ms while frames are skipped waiting for one (a publisher may ignore a request)', () => {
    const time = clock();
    const input = new DecoderInput({ codec: 'H264', now: time.now, maxBacklogFrames: 2 });
    // A decoder that reads nothing: after two frames the input is dropped, then waits for a keyframe the publisher never sends.
    const pipe = new PassThrough({ highWaterMark: 1024 });
    input.attach(pipe, 640, 480, false);
    const asked: number[] = [];
    for (let index = 0; index < 90; index++) {
      const offer = input.offer(pipe, accessUnit(index, index === 0), index * 3000, time.now(), index === 0);
      if (input.keyframeRequestDue(offer)) asked.push(time.now());
      time.advance(33);
    }
    // 3 s at 30 fps: asked at the first skip and again every ~500 ms, not once (the stream stayed frozen when the one request was ignored).
    expect(asked.length).toBeGreaterThanOrEqual(5);
    for (let index = 1; index < asked.length; index++) expect(asked[index]! - asked[index - 1]!).toBeGreaterThanOrEqual(500);
    // A frame written asks for nothing, nor does a decoder's first wait (the stream asks for that keyframe itself).
    const fresh = new DecoderInput({ codec: 'H264', now: time.now });
    const reader = new PassThrough();
    reader.resume();
    fresh.attach(reader, 640, 480, false);
    expect(fresh.keyframeRequestDue(fresh.offer(reader, accessUnit(0, false), 0, time.now(), false))).toBe(false);
    expect(fresh.keyframeRequestDue(fresh.offer(reader, accessUnit(1, true), 3000, time.now(), true))).toBe(false);
  });

  it('gives a (re)started decoder a keyframe first, whatever the frames offered before it', () => {
    const time = clock();
    const input = new DecoderInput({ codec: 'H264', now: time.now });
    const resumes: DecoderResume[] = [];
    input.onResume = (resume) => resumes.push(resume);
    const first = new PassThrough();
    first.resume();
    input.attach(first, 640, 480, false);
    expect(input.offer(first, accessUnit(0, false), 0, time.now(), false)).toBe('waiting-for-keyframe');
    expect(input.offer(first, accessUnit(1, true), 3000, time.now(), true)).toBe('written');
    expect(input.offer(first, accessUnit(2, false), 6000, time.now(), false)).toBe('written');
    // The decoder is restarting: nothing goes to the old one, nothing is lost into it.
    expect(input.offer(undefined, accessUnit(3, false), 9000, time.now(), false)).toBe('no-decoder');
    const second = new PassThrough();
    second.resume();
    input.attach(second, 640, 480, true);
    expect(input.offer(first, accessUnit(4, true), 12000, time.now(), true)).toBe('no-decoder');
    for (let index = 5; index < 9; index++) expect(input.offer(second, accessUnit(index, false), index * 3000, time.now(), false)).toBe('waiting-for-keyframe');
    time.advance(400);
    // A frame flagged as a keyframe is checked by its bytes in the report.
    expect(input.offer(second, accessUnit(9, true), 27000, time.now(), true)).toBe('written');
    expect(resumes).toEqual([
      { keyframe: true, framesSkipped: 1, waitedMs: 0, restart: false },
      { keyframe: true, framesSkipped: 4, waitedMs: 400, restart: true },
    ]);
  });

  it('tells a slow decoder (some output, however late) from a stuck one (none for 10 s while fed)', async () => {
    const time = clock();
    const input = new DecoderInput({ codec: 'H264', now: time.now });
    const pipe = new PassThrough();
    pipe.resume();
    input.attach(pipe, 640, 480, false);
    input.offer(pipe, accessUnit(0, true), 0, time.now(), true);
    // Slow: a picture every 3 s while frames keep coming.
    for (let second = 0; second < 30; second++) {
      time.advance(1000);
      input.offer(pipe, accessUnit(second + 1, false), second * 3000, time.now(), false);
      await tick();
      if (second % 3 === 2) {
        input.noteOutput();
        input.takeDecoded();
      }
      expect(input.stuck(time.now())).toBe(false);
    }
    // Stuck: fed for 10 s, not one byte back.
    for (let second = 0; second < 11; second++) {
      time.advance(1000);
      input.offer(pipe, accessUnit(100 + second, false), 0, time.now(), false);
      await tick();
    }
    expect(input.stuck(time.now())).toBe(true);
    // A publisher pause is not a stuck decoder: no input for a while, no restart.
    input.noteOutput();
    time.advance(20_000);
    expect(input.stuck(time.now())).toBe(false);
  });
});
