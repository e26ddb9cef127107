import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtpFrameAssembler, readVp8PayloadDescriptor, type AssembledFrame, type RtpPacketView } from '../core/rtp/rtp-frame-assembler.js';
import { Vp8Packetizer } from '../core/rtp/vp8-packetizer.js';
import { decodeChecksums, runFfmpeg } from './helpers/ffmpeg-fixtures.js';
import { feed as feedAssembler, packetizeFrames, schedule as scheduleDeliveries, type Delivery } from './helpers/rtp-feed.js';

const FRAME_COUNT = 20;
const FIRST_TIMESTAMP = 0xffff_0000; // wraps the 32-bit RTP timestamp halfway through
const timestampOf = (index: number): number => (FIRST_TIMESTAMP + index * 3000) >>> 0;
const indexOf = (timestamp: number): number => (((timestamp - FIRST_TIMESTAMP) >>> 0) / 3000) | 0;
const allIndexes = Array.from({ length: FRAME_COUNT }, (_, index) => index);


interface IvfFile {
  header: Buffer;
  frames: { pts: bigint; data: Buffer }[];
}

/** IVF: a 32-byte file header, then per frame a 12-byte header (size LE32, pts LE64) and the frame. */
function parseIvf(file: Buffer): IvfFile {
  expect(file.subarray(0, 4).toString('latin1')).toBe('DKIF');
  const headerBytes = file.readUInt16LE(6);
  const frames: IvfFile['frames'] = [];
  let offset = headerBytes;
  while (offset + 12 <= file.length) {
    const size = file.readUInt32LE(offset);
    frames.push({ pts: file.readBigUInt64LE(offset + 4), data: file.subarray(offset + 12, offset + 12 + size) });
    offset += 12 + size;
  }
  return { header: file.subarray(0, headerBytes), frames };
}

function writeIvf(header: Buffer, frames: { pts: bigint; data: Buffer }[]): Buffer {
  const parts = [header];
  for (const frame of frames) {
    const frameHeader = Buffer.alloc(12);
    frameHeader.writeUInt32LE(frame.data.length, 0);
    frameHeader.writeBigUInt64LE(frame.pts, 4);
    parts.push(frameHeader, frame.data);
  }
  return Buffer.concat(parts);
}

function decodeIvf(file: Buffer): { checksums: string[]; errors: string } {
  return decodeChecksums('ivf', file);
}

/** The P bit of the frame tag (RFC 6386 section 9.1), read straight from the encoder's output. */
const isKeyframe = (frame: Buffer): boolean => (frame[0]! & 1) === 0;

function packetize(frames: Buffer[], firstSequence: number, packetizer: Vp8Packetizer): RtpPacketView[][] {
  return packetizeFrames(frames, firstSequence, timestampOf, (frame, emit) => packetizer.packetize(frame, emit));
}

function schedule(frames: RtpPacketView[][]): Delivery[] {
  return scheduleDeliveries(frames, 1000);
}

function feed(assembler: RtpFrameAssembler, deliveries: Delivery[]): { frames: AssembledFrame[]; indexes: number[] } {
  return feedAssembler(assembler, deliveries, indexOf);
}

let workDir: string;
let ivf: IvfFile;
let vp8Frames: Buffer[];

beforeAll(async () => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'livefx-rtp-vp8-'));
  const file = path.join(workDir, 'vp8.ivf');
  await runFfmpeg([
    ...['-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=30', '-frames:v', String(FRAME_COUNT)],
    ...['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '1M', '-g', '5', '-keyint_min', '5', '-auto-alt-ref', '0', '-lag-in-frames', '0'],
    ...['-f', 'ivf', file],
  ]);
  ivf = parseIvf(readFileSync(file));
  vp8Frames = ivf.frames.map((frame) => frame.data);
}, 30_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('VP8 payload descriptor', () => {
  it.each([
    ['minimal, start of partition 0', [0x10], { length: 1, startOfPartition: true, partitionIndex: 0, pictureId: -1 }],
    ['continuation of partition 3, reserved bit ignored', [0x0b], { length: 1, startOfPartition: false, partitionIndex: 3 }],
    ['non-reference frame', [0x30], { length: 1, nonReference: true, startOfPartition: true }],
    ['7-bit PictureID', [0x90, 0x80, 0x5a], { length: 3, pictureId: 0x5a, tl0PictureIndex: -1, temporalLayer: -1, keyIndex: -1 }],
    ['15-bit PictureID', [0x90, 0x80, 0x81, 0x23], { length: 4, pictureId: 0x0123 }],
    ['PictureID, TL0PICIDX, TID with Y', [0x90, 0xe0, 0xff, 0xff, 0x05, 0x60], { length: 6, pictureId: 0x7fff, tl0PictureIndex: 5, temporalLayer: 1, layerSync: true, keyIndex: -1 }],
    ['KEYIDX only', [0x80, 0x10, 0x9f], { length: 3, pictureId: -1, temporalLayer: -1, keyIndex: 31 }],
    ['TID and KEYIDX share a byte', [0x80, 0x30, 0x85], { length: 3, temporalLayer: 2, layerSync: false, keyIndex: 5 }],
    ['TL0PICIDX only', [0x80, 0x40, 0x07], { length: 3, tl0PictureIndex: 7 }],
  ])('reads %s', (_name, bytes, expected) => {
    expect(readVp8PayloadDescriptor(Buffer.from([...bytes, 0x9d]))).toMatchObject(expected);
  });

  it('throws when the descriptor is cut short', () => {
    expect(() => readVp8PayloadDescriptor(Buffer.from([0x90]))).toThrow(/truncated/);
    expect(() => readVp8PayloadDescriptor(Buffer.from([0x90, 0x80, 0x81]))).toThrow(/15-bit PictureID/);
    expect(() => readVp8PayloadDescriptor(Buffer.from([0x90, 0x20]))).toThrow(/TID/);
    expect(() => readVp8PayloadDescriptor(Buffer.alloc(0))).toThrow(/empty/);
  });
});

describe('RtpFrameAssembler with VP8', () => {
  it('has real libvpx frames with a keyframe every 5', () => {
    expect(vp8Frames).toHaveLength(FRAME_COUNT);
    expect(allIndexes.filter((index) => isKeyframe(vp8Frames[index]!))).toEqual([0, 5, 10, 15]);
  });

  it.each([
    ['the minimal descriptor', {}],
    ['PictureID, TL0PICIDX and TID (as Chromium sends)', { pictureIds: true, firstPictureId: 0x7ffe }],
  ])('round-trips with %s across the 16-bit sequence wrap, decodable by ffmpeg', (_name, options) => {
    const frames = packetize(vp8Frames, 65530, new Vp8Packetizer(1200, options));
    expect(frames[0]!.length).toBeGreaterThan(10);
    const assembler = new RtpFrameAssembler('VP8');
    expect(assembler.needsKeyframe).toBe(true);
    const outcome = feed(assembler, schedule(frames));
    expect(outcome.indexes).toEqual(allIndexes);
    expect(assembler.framesLost).toBe(0);
    expect(assembler.needsKeyframe).toBe(false);
    outcome.frames.forEach((frame, index) => {
      expect(frame.codec).toBe('VP8');
      expect(frame.data.equals(vp8Frames[index]!)).toBe(true);
      expect(frame.keyframe).toBe(isKeyframe(vp8Frames[index]!));
      expect(frame.firstPacketMs).toBe(1000 + index * 33);
      if (frame.keyframe) expect([frame.width, frame.height]).toEqual([640, 480]);
      else expect(frame.width).toBeUndefined();
    });
    const original = decodeIvf(writeIvf(ivf.header, ivf.frames));
    const reassembled = decodeIvf(writeIvf(ivf.header, outcome.frames.map((frame, index) => ({ pts: ivf.frames[index]!.pts, data: frame.data }))));
    expect(reassembled.errors).toBe('');
    expect(reassembled.checksums).toHaveLength(FRAME_COUNT);
    expect(reassembled.checksums).toEqual(original.checksums);
  });

  it('writes increasing 15-bit PictureIDs that wrap', () => {
    const frames = packetize(vp8Frames.slice(0, 3), 0, new Vp8Packetizer(1200, { pictureIds: true, firstPictureId: 0x7fff }));
    const firstPackets = frames.map((packets) => readVp8PayloadDescriptor(packets[0]!.payload));
    expect(firstPackets.map((descriptor) => descriptor.pictureId)).toEqual([0x7fff, 0, 1]);
    expect(firstPackets.every((descriptor) => descriptor.startOfPartition && descriptor.partitionIndex === 0 && descriptor.length === 6)).toBe(true);
    expect(readVp8PayloadDescriptor(frames[0]![1]!.payload).startOfPartition).toBe(false);
  });

  it('joins frames sent as two partitions (S bit again on partition 1)', () => {
    let sequence = 300;
    const frames = vp8Frames.map((frame, index) => {
      const headerBytes = isKeyframe(frame) ? 10 : 3;
      const split = headerBytes + ((frame[0]! | (frame[1]! << 8) | (frame[2]! << 16)) >>> 5);
      const partitions = [frame.subarray(0, split), frame.subarray(split)];
      const packets: RtpPacketView[] = [];
      partitions.forEach((partition, partitionIndex) => {
        for (let start = 0; start < partition.length; start += 700) {
          // X, S only where the partition starts, PartID; then a 7-bit PictureID.
          const descriptor = Buffer.from([0x80 | (start === 0 ? 0x10 : 0) | partitionIndex, 0x80, index & 0x7f]);
          const last = partitionIndex === 1 && start + 700 >= partition.length;
          packets.push({ sequenceNumber: sequence++ & 0xffff, timestamp: timestampOf(index), marker: last, payload: Buffer.concat([descriptor, partition.subarray(start, start + 700)]) });
        }
      });
      return packets;
    });
    const outcome = feed(new RtpFrameAssembler('VP8'), schedule(frames));
    expect(outcome.indexes).toEqual(allIndexes);
    outcome.frames.forEach((frame, index) => expect(frame.data.equals(vp8Frames[index]!)).toBe(true));
  });

  it('tolerates reordering and duplicated packets', () => {
    const frames = packetize(vp8Frames, 65000, new Vp8Packetizer(500));
    const deliveries = schedule(frames);
    [deliveries[2], deliveries[7]] = [deliveries[7]!, deliveries[2]!];
    const withCopies = deliveries.flatMap((delivery, index) => (index % 3 === 0 ? [delivery, delivery] : [delivery]));
    withCopies.push(deliveries[5]!);
    const assembler = new RtpFrameAssembler('VP8');
    const outcome = feed(assembler, withCopies);
    expect(outcome.indexes).toEqual(allIndexes);
    outcome.frames.forEach((frame, index) => expect(frame.data.equals(vp8Frames[index]!)).toBe(true));
    expect(assembler.framesLost).toBe(0);
  });

  it('drops the frame with a lost packet and the P-frames after it, until the next keyframe', () => {
    const frames = packetize(vp8Frames, 65533, new Vp8Packetizer(500, { pictureIds: true }));
    expect(frames[6]!.length).toBeGreaterThan(2);
    const lost = frames[6]![1]!;
    const assembler = new RtpFrameAssembler('VP8');
    let neededKeyframeBefore10 = false;
    const emitted: AssembledFrame[] = [];
    for (const { packet, arrivalMs } of schedule(frames)) {
      if (packet === lost) continue;
      const frame = assembler.push(packet, arrivalMs);
      if (frame) emitted.push(frame);
      if (packet.timestamp === timestampOf(9) && packet.marker) neededKeyframeBefore10 = assembler.needsKeyframe;
    }
    const expected = allIndexes.filter((index) => index < 6 || index >= 10);
    expect(emitted.map((frame) => indexOf(frame.rtpTimestamp))).toEqual(expected);
    expect(neededKeyframeBefore10).toBe(true);
    expect(assembler.needsKeyframe).toBe(false);
    expect(assembler.framesLost).toBe(1);
    const decoded = decodeIvf(writeIvf(ivf.header, emitted.map((frame) => ({ pts: ivf.frames[indexOf(frame.rtpTimestamp)]!.pts, data: frame.data }))));
    expect(decoded.errors).toBe('');
    expect(decoded.checksums).toHaveLength(expected.length);
  });

  it.each([
    ['without the S bit', 0x00],
    ['starting partition 1', 0x11],
  ])('does not take a first packet %s as the start of a frame', (_name, descriptor) => {
    const frames = packetize(vp8Frames.slice(0, 6), 10, new Vp8Packetizer(500));
    const keyframe = frames[0]!;
    keyframe[0] = { ...keyframe[0]!, payload: Buffer.from([descriptor, ...keyframe[0]!.payload.subarray(1)]) };
    const assembler = new RtpFrameAssembler('VP8');
    const outcome = feed(assembler, schedule(frames));
    expect(outcome.indexes).toEqual([5]);
    expect(assembler.framesLost).toBe(1);
  });

  it('drops a frame whose data is shorter than its first partition', () => {
    const frames = packetize(vp8Frames.slice(0, 1), 10, new Vp8Packetizer(1200));
    const keyframe = frames[0]!;
    keyframe.splice(1, keyframe.length - 1); // only the first packet, now carrying the marker
    keyframe[0] = { ...keyframe[0]!, marker: true };
    const assembler = new RtpFrameAssembler('VP8');
    const outcome = feed(assembler, schedule(frames));
    expect(outcome.frames).toHaveLength(0);
    expect(assembler.framesLost).toBe(1);
    expect(assembler.needsKeyframe).toBe(true);
  });
});
