import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NalType, containsIdrSlice, joinAvcc, nalType, splitAnnexB, splitAvcc } from '../core/rtp/h264-nal.js';
import { H264Packetizer } from '../core/rtp/h264-packetizer.js';
import { parseH264Sps } from '../core/rtp/h264-sps.js';
import { RtpFrameAssembler, type RtpPacketView } from '../core/rtp/rtp-frame-assembler.js';
import { decodeChecksums, runFfmpeg } from './helpers/ffmpeg-fixtures.js';
import { feed as feedAssembler, packetizeFrames, schedule as scheduleDeliveries, type Delivery, type Outcome } from './helpers/rtp-feed.js';

/** RTP timestamp of access unit `index`: 30 fps at 90 kHz, from an arbitrary start. */
const FIRST_TIMESTAMP = 4_000_000_000;
const timestampOf = (index: number): number => (FIRST_TIMESTAMP + index * 3000) >>> 0;
const indexOf = (timestamp: number): number => (((timestamp - FIRST_TIMESTAMP) >>> 0) / 3000) | 0;


/** Access units of an Annex-B stream whose every access unit begins with an AUD (h264_metadata=aud=insert). */
function accessUnitsOf(annexB: Buffer): Buffer[][] {
  const units: Buffer[][] = [];
  for (const nal of splitAnnexB(annexB)) {
    if (nalType(nal) === NalType.AccessUnitDelimiter || units.length === 0) units.push([]);
    units[units.length - 1]!.push(nal);
  }
  return units;
}

const withoutDelimiters = (nals: Buffer[]): Buffer[] => nals.filter((nal) => nalType(nal) !== NalType.AccessUnitDelimiter);

/** Buffer.equals per NAL unit: deep equality of big buffers is slow in expect(). */
function expectSameNals(actual: Buffer[], expected: Buffer[]): void {
  expect(actual.map((nal) => nal.length)).toEqual(expected.map((nal) => nal.length));
  expect(actual.every((nal, index) => nal.equals(expected[index]!))).toBe(true);
}

function toAnnexB(nals: Buffer[]): Buffer {
  return Buffer.concat(nals.flatMap((nal) => [Buffer.from([0, 0, 0, 1]), nal]));
}

/** RTP packets for each access unit, sequence numbers counting up from `firstSequence` (16-bit wrap). */
function packetize(accessUnits: Buffer[][], firstSequence: number, maxPayloadBytes = 1200): RtpPacketView[][] {
  const packetizer = new H264Packetizer(maxPayloadBytes);
  return packetizeFrames(accessUnits, firstSequence, timestampOf, (nals, emit) => packetizer.packetize(nals, emit));
}

function schedule(frames: RtpPacketView[][]): Delivery[] {
  return scheduleDeliveries(frames);
}

function feed(assembler: RtpFrameAssembler, deliveries: Delivery[]): Outcome {
  return feedAssembler(assembler, deliveries, indexOf);
}

/** Feeds `deliveries` to a new H.264 assembler and expects every access unit back, whole and in order, none lost. */
function expectEveryFrameBack(deliveries: Delivery[], accessUnits: Buffer[][]): void {
  const assembler = new RtpFrameAssembler('H264');
  const outcome = feed(assembler, deliveries);
  expect(outcome.indexes).toEqual(accessUnits.map((_, index) => index));
  outcome.frames.forEach((frame, index) => expectSameNals(splitAnnexB(frame.data), withoutDelimiters(accessUnits[index]!)));
  expect(assembler.framesLost).toBe(0);
}

function decode(annexB: Buffer): { checksums: string[]; errors: string } {
  return decodeChecksums('h264', annexB);
}

function keyframeIndexes(accessUnits: Buffer[][]): number[] {
  return accessUnits.flatMap((nals, index) => (containsIdrSlice(nals) ? [index] : []));
}

/** Writes RBSP bits for hand-built parameter sets. */
class RbspWriter {
  private readonly bits: number[] = [];

  bit(value: boolean | number): this {
    this.bits.push(value ? 1 : 0);
    return this;
  }

  unsigned(count: number, value: number): this {
    for (let shift = count - 1; shift >= 0; shift--) this.bits.push(Math.floor(value / 2 ** shift) % 2);
    return this;
  }

  unsignedExpGolomb(value: number): this {
    const codeNumber = value + 1;
    const length = Math.floor(Math.log2(codeNumber)) + 1;
    return this.unsigned(length - 1, 0).unsigned(length, codeNumber);
  }

  signedExpGolomb(value: number): this {
    return this.unsignedExpGolomb(value > 0 ? 2 * value - 1 : -2 * value);
  }

  /** NAL header byte + RBSP with trailing bits + emulation prevention. */
  toNal(header: number): Buffer {
    const bits = [...this.bits, 1];
    while (bits.length % 8 !== 0) bits.push(0);
    const rbsp: number[] = [];
    for (let index = 0; index < bits.length; index += 8) rbsp.push(bits.slice(index, index + 8).reduce((byte, bit) => byte * 2 + bit, 0));
    const out = [header];
    let zeros = 0;
    for (const byte of rbsp) {
      if (zeros >= 2 && byte <= 3) {
        out.push(3);
        zeros = 0;
      }
      out.push(byte);
      zeros = byte === 0 ? zeros + 1 : 0;
    }
    return Buffer.from(out);
  }
}

let workDir: string;
/** High profile 1920x1080, keyframe every 5 frames (B-frames, CABAC, 8x8 transform). */
let high1080: Buffer[][];
/** Constrained baseline 320x240, 30 frames, keyframe every 5 (no B-frames: each P-frame depends on the one before). */
let baseline240: Buffer[][];
const extraSps = new Map<string, Buffer>();

beforeAll(async () => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'livefx-rtp-h264-'));
  const output = (name: string): string => path.join(workDir, name);
  const aud = ['-bsf:v', 'h264_metadata=aud=insert', '-f', 'h264'];
  const source = (size: string): string[] => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`];
  await Promise.all([
    runFfmpeg([...source('1920x1080'), '-frames:v', '10', '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-g', '5', ...aud, output('high1080.h264')]),
    runFfmpeg([...source('320x240'), '-frames:v', '30', '-c:v', 'libx264', '-profile:v', 'baseline', '-g', '5', ...aud, output('baseline240.h264')]),
    runFfmpeg([...source('318x238'), '-frames:v', '1', '-pix_fmt', 'yuv444p', '-c:v', 'libx264', '-profile:v', 'high444', '-f', 'h264', output('high444.h264')]),
    runFfmpeg([...source('330x190'), '-frames:v', '1', '-pix_fmt', 'yuv422p', '-c:v', 'libx264', '-profile:v', 'high422', '-f', 'h264', output('high422.h264')]),
    runFfmpeg([...source('320x180'), '-frames:v', '2', '-c:v', 'libx264', '-x264-params', 'interlaced=1', '-f', 'h264', output('interlaced.h264')]),
  ]);
  high1080 = accessUnitsOf(readFileSync(output('high1080.h264')));
  baseline240 = accessUnitsOf(readFileSync(output('baseline240.h264')));
  for (const name of ['high444', 'high422', 'interlaced']) {
    const sps = splitAnnexB(readFileSync(output(`${name}.h264`))).find((nal) => nalType(nal) === NalType.Sps);
    extraSps.set(name, sps!);
  }
}, 30_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('H.264 NAL unit helpers', () => {
  it('splits Annex-B with 3- and 4-byte start codes and drops zero padding', () => {
    const data = Buffer.from([0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 4, 5, 0, 0]);
    expect(splitAnnexB(data)).toEqual([Buffer.from([0x67, 1, 2]), Buffer.from([0x68, 3]), Buffer.from([0x65, 4, 5])]);
    expect(splitAnnexB(Buffer.alloc(0))).toEqual([]);
    expect(splitAnnexB(Buffer.from([1, 2, 3]))).toEqual([]);
  });

  it('splits AVCC with 4- and 2-byte lengths and rejects lengths past the end', () => {
    expect(splitAvcc(Buffer.from([0, 0, 0, 2, 0x67, 1, 0, 0, 0, 1, 0x68]))).toEqual([Buffer.from([0x67, 1]), Buffer.from([0x68])]);
    expect(splitAvcc(Buffer.from([0, 1, 0x65, 0, 2, 0x41, 9]), 2)).toEqual([Buffer.from([0x65]), Buffer.from([0x41, 9])]);
    expect(() => splitAvcc(Buffer.from([0, 0, 0, 9, 0x65]))).toThrow(/runs past the end/);
  });

  it('joins NAL units into AVCC that splits back into the same units', () => {
    const nals = [Buffer.from([0x67, 1, 2]), Buffer.alloc(300, 0x41), Buffer.from([0x68])];
    const joined = joinAvcc(nals);
    expect(joined.subarray(0, 7)).toEqual(Buffer.from([0, 0, 0, 3, 0x67, 1, 2]));
    expect(joined.readUInt32BE(7)).toBe(300);
    expect(splitAvcc(joined)).toEqual(nals);
    expect(joinAvcc([])).toEqual(Buffer.alloc(0));
  });

  it('finds the access units of a real stream, IDR every 5 frames', () => {
    expect(baseline240).toHaveLength(30);
    expect(keyframeIndexes(baseline240)).toEqual([0, 5, 10, 15, 20, 25]);
    expect(high1080).toHaveLength(10);
    expect(keyframeIndexes(high1080)).toEqual([0, 5]);
  });
});

describe('parseH264Sps', () => {
  const spsOf = (accessUnit: Buffer[]): Buffer => accessUnit.find((nal) => nalType(nal) === NalType.Sps)!;

  it('reads size and profile of real x264 parameter sets, cropping applied', () => {
    expect(parseH264Sps(spsOf(high1080[0]!))).toMatchObject({ width: 1920, height: 1080, profileIdc: 100 });
    expect(parseH264Sps(spsOf(baseline240[0]!))).toMatchObject({ width: 320, height: 240, profileIdc: 66 });
    // 4:4:4 crops in luma samples, 4:2:2 crops width in pairs, interlaced crops height in field pairs.
    expect(parseH264Sps(extraSps.get('high444')!)).toMatchObject({ width: 318, height: 238, profileIdc: 244 });
    expect(parseH264Sps(extraSps.get('high422')!)).toMatchObject({ width: 330, height: 190, profileIdc: 122 });
    expect(parseH264Sps(extraSps.get('interlaced')!)).toMatchObject({ width: 320, height: 180 });
    expect(parseH264Sps(spsOf(baseline240[0]!)).levelIdc).toBeGreaterThan(0);
  });

  it('reads past scaling lists, pic_order_cnt_type 1 and emulation prevention bytes (checked against ffmpeg)', () => {
    const writer = new RbspWriter()
      .unsigned(8, 100) // profile_idc: High
      .unsigned(8, 0)
      .unsigned(8, 40)
      .unsignedExpGolomb(0) // seq_parameter_set_id
      .unsignedExpGolomb(1) // chroma_format_idc 4:2:0
      .unsignedExpGolomb(0)
      .unsignedExpGolomb(0)
      .bit(0)
      .bit(1); // seq_scaling_matrix_present_flag
    for (let list = 0; list < 8; list++) {
      const present = list !== 2 && list !== 5;
      writer.bit(present);
      if (!present) continue;
      const size = list < 6 ? 16 : 64;
      if (list === 1) {
        writer.signedExpGolomb(-8); // next scale 0 at once: use the default list
      } else if (list === 7) {
        for (let index = 0; index < 10; index++) writer.signedExpGolomb(index === 9 ? -(8 + 9) : 1); // ends early at a zero
      } else {
        for (let index = 0; index < size; index++) writer.signedExpGolomb(index % 2 === 0 ? 3 : -2);
      }
    }
    writer
      .unsignedExpGolomb(0) // log2_max_frame_num_minus4
      .unsignedExpGolomb(1) // pic_order_cnt_type
      .bit(0)
      .signedExpGolomb(-(2 ** 24)) // offset_for_non_ref_pic: 25 leading zero bits force emulation prevention
      .signedExpGolomb(3)
      .unsignedExpGolomb(3)
      .signedExpGolomb(-1)
      .signedExpGolomb(200)
      .signedExpGolomb(0)
      .unsignedExpGolomb(2) // max_num_ref_frames
      .bit(0)
      .unsignedExpGolomb(79) // 80 macroblocks: 1280
      .unsignedExpGolomb(44) // 45 macroblocks: 720
      .bit(1)
      .bit(1)
      .bit(1) // frame_cropping_flag
      .unsignedExpGolomb(1)
      .unsignedExpGolomb(3)
      .unsignedExpGolomb(0)
      .unsignedExpGolomb(2)
      .bit(0); // no VUI
    const sps = writer.toNal(0x67);
    expect(sps.includes(Buffer.from([0, 0, 3]))).toBe(true);
    expect(parseH264Sps(sps)).toEqual({ width: 1280 - 2 * 4, height: 720 - 2 * 2, profileIdc: 100, levelIdc: 40 });

    // ffmpeg's own bitstream reader must see the same fields, or the hand-built SPS proves nothing.
    const trace = spawnSync('ffmpeg', ['-hide_banner', '-f', 'h264', '-i', 'pipe:0', '-c', 'copy', '-bsf:v', 'trace_headers', '-f', 'null', '-'], {
      input: Buffer.concat([Buffer.from([0, 0, 0, 1]), sps]),
    }).stderr.toString();
    const field = (name: string): number => Number(new RegExp(`\\b${name}\\s+[01]+ = (-?\\d+)`).exec(trace)?.[1]);
    expect(field('pic_width_in_mbs_minus1')).toBe(79);
    expect(field('pic_height_in_map_units_minus1')).toBe(44);
    expect(field('offset_for_non_ref_pic')).toBe(-(2 ** 24));
    expect([field('frame_crop_left_offset'), field('frame_crop_right_offset'), field('frame_crop_top_offset'), field('frame_crop_bottom_offset')]).toEqual([1, 3, 0, 2]);
  });

  it('throws a clear error on a truncated or wrong NAL unit', () => {
    const sps = spsOf(high1080[0]!);
    expect(() => parseH264Sps(sps.subarray(0, 6))).toThrow(/H\.264 SPS is truncated/);
    expect(() => parseH264Sps(sps.subarray(0, 1))).toThrow(/H\.264 SPS is truncated/);
    expect(() => parseH264Sps(Buffer.alloc(0))).toThrow(/truncated/);
    expect(() => parseH264Sps(Buffer.from([0x68, 0xce, 0x3c, 0x80]))).toThrow(/not an H\.264 SPS/);
  });
});

describe('H264Packetizer', () => {
  it('aggregates parameter sets into STAP-A, fragments big slices into FU-A, skips AUDs, marks the last payload', () => {
    const payloads: { payload: Buffer; marker: boolean }[] = [];
    new H264Packetizer(1200).packetize(high1080[0]!, (payload, marker) => payloads.push({ payload, marker }));
    const types = payloads.map(({ payload }) => nalType(payload));
    expect(types[0]).toBe(NalType.StapA);
    expect(types.slice(1).every((type) => type === NalType.FuA)).toBe(true);
    expect(payloads.every(({ payload }) => payload.length <= 1200)).toBe(true);
    expect(payloads.map(({ marker }) => marker)).toEqual(payloads.map((_, index) => index === payloads.length - 1));
    expect(types).not.toContain(NalType.AccessUnitDelimiter);
    // The STAP-A holds SPS and PPS, which are always small.
    const stap = payloads[0]!.payload;
    expect(nalType(stap.subarray(3))).toBe(NalType.Sps);
  });

  it('sends a small access unit as one single-NAL payload and an AUD-only one as nothing', () => {
    const slice = Buffer.from([0x41, 0x9a, 1, 2, 3]);
    const payloads: Buffer[] = [];
    new H264Packetizer().packetize([Buffer.from([0x09, 0xf0]), slice], (payload, marker) => {
      expect(marker).toBe(true);
      payloads.push(payload);
    });
    expect(payloads).toEqual([slice]);
    let count = 0;
    new H264Packetizer().packetize([Buffer.from([0x09, 0xf0])], () => count++);
    expect(count).toBe(0);
    expect(() => new H264Packetizer(50)).toThrow(RangeError);
  });

  it('packetizes AVCC access units in place exactly as it packetizes their NAL units', () => {
    for (const maxPayloadBytes of [1200, 300]) {
      for (const nals of [...high1080, ...baseline240]) {
        const fromUnits: { payload: Buffer; marker: boolean }[] = [];
        const inPlace: { payload: Buffer; marker: boolean }[] = [];
        const packetizer = new H264Packetizer(maxPayloadBytes);
        packetizer.packetize(nals, (payload, marker) => fromUnits.push({ payload: Buffer.from(payload), marker }));
        packetizer.packetizeAvcc(joinAvcc(nals), (payload, marker) => inPlace.push({ payload: Buffer.from(payload), marker }));
        expect(inPlace.length).toBe(fromUnits.length);
        expect(inPlace.every(({ payload, marker }, index) => marker === fromUnits[index]!.marker && payload.equals(fromUnits[index]!.payload))).toBe(true);
      }
    }
  });

  it('sends a single NAL unit of AVCC as a view of it, and refuses AVCC whose lengths run past the end', () => {
    const accessUnit = joinAvcc([Buffer.from([0x09, 0xf0]), Buffer.from([0x41, 0x9a, 1, 2, 3])]);
    const payloads: Buffer[] = [];
    new H264Packetizer().packetizeAvcc(accessUnit, (payload) => payloads.push(payload));
    expect(payloads).toEqual([Buffer.from([0x41, 0x9a, 1, 2, 3])]);
    expect(payloads[0]!.buffer).toBe(accessUnit.buffer);
    expect(() => new H264Packetizer().packetizeAvcc(accessUnit.subarray(0, accessUnit.length - 1), () => {})).toThrow(/runs past the end/);
    expect(() => new H264Packetizer().packetizeAvcc(Buffer.from([0, 0, 0]), () => {})).toThrow(/ends inside a NAL length/);
  });
});

describe('RtpFrameAssembler with H.264', () => {
  it.each([
    ['high profile 1920x1080', () => high1080, 1920, 1080],
    ['baseline 320x240', () => baseline240, 320, 240],
  ])('round-trips %s through RTP across the 16-bit sequence wrap, decodable by ffmpeg', (_name, stream, width, height) => {
    const accessUnits = stream();
    const frames = packetize(accessUnits, 65530);
    const assembler = new RtpFrameAssembler('H264');
    expect(assembler.needsKeyframe).toBe(true);
    const outcome = feed(assembler, schedule(frames));
    expect(outcome.indexes).toEqual(accessUnits.map((_, index) => index));
    expect(assembler.framesLost).toBe(0);
    expect(assembler.needsKeyframe).toBe(false);
    outcome.frames.forEach((frame, index) => {
      expect(frame.codec).toBe('H264');
      expectSameNals(splitAnnexB(frame.data), withoutDelimiters(accessUnits[index]!));
      // Every NAL unit gets a 4-byte start code.
      expect(frame.data.readUInt32BE(0)).toBe(1);
      expect(frame.data.length).toBe(withoutDelimiters(accessUnits[index]!).reduce((sum, nal) => sum + 4 + nal.length, 0));
      expect(frame.keyframe).toBe(containsIdrSlice(accessUnits[index]!));
      expect(frame.firstPacketMs).toBe(index * 33);
      if (frame.keyframe) expect([frame.width, frame.height]).toEqual([width, height]);
      else expect(frame.width).toBeUndefined();
    });
    const original = decode(toAnnexB(accessUnits.flat()));
    const reassembled = decode(Buffer.concat(outcome.frames.map((frame) => frame.data)));
    expect(reassembled.errors).toBe('');
    expect(reassembled.checksums).toHaveLength(accessUnits.length);
    expect(reassembled.checksums).toEqual(original.checksums);
  });

  it('tolerates reordering inside a frame and across a frame boundary', () => {
    const frames = packetize(high1080, 100);
    const deliveries = schedule(frames);
    const swap = (a: number, b: number): void => {
      [deliveries[a], deliveries[b]] = [deliveries[b]!, deliveries[a]!];
    };
    swap(3, 5); // inside the first keyframe
    const boundary = frames[0]!.length + frames[1]!.length; // first packet of frame 2
    swap(boundary - 1, boundary); // frame 1's marker packet arrives after frame 2's first packet
    expectEveryFrameBack(deliveries, high1080);
  });

  it('ignores duplicated packets, also ones arriving after their frame was emitted', () => {
    const frames = packetize(baseline240, 65534, 300);
    const deliveries = schedule(frames).flatMap((delivery, index, all) => {
      const copies = [delivery, delivery];
      if (index >= 10) copies.push(all[index - 10]!); // a stale copy of an older packet
      return copies;
    });
    expectEveryFrameBack(deliveries, baseline240);
  });

  describe('after a loss, drops frames until the next keyframe', () => {
    // Small payloads so that P-frames span several packets.
    const frameWithLoss = 7;
    const cases: [string, (packets: RtpPacketView[]) => number[]][] = [
      ['a middle packet', (packets) => [Math.floor(packets.length / 2)]],
      ['the first packet (FU-A start)', () => [0]],
      ['the marker packet', (packets) => [packets.length - 1]],
      ['the whole frame', (packets) => packets.map((_, index) => index)],
    ];
    it.each(cases)('losing %s', (_name, lose) => {
      const frames = packetize(baseline240, 65500, 300);
      expect(frames[frameWithLoss]!.length).toBeGreaterThan(2);
      const lost = new Set(lose(frames[frameWithLoss]!).map((index) => frames[frameWithLoss]![index]));
      const deliveries = schedule(frames).filter(({ packet }) => !lost.has(packet));
      const assembler = new RtpFrameAssembler('H264');
      const outcome = feed(assembler, deliveries);
      // Frames 7, 8, 9 are gone (7 incomplete, 8 and 9 would decode against it); the keyframe 10 recovers.
      const expected = baseline240.map((_, index) => index).filter((index) => index < frameWithLoss || index >= 10);
      expect(outcome.indexes).toEqual(expected);
      expect(assembler.framesLost).toBe(1);
      const firstAfterLoss = deliveries.findIndex(({ packet }) => packet.timestamp === timestampOf(frameWithLoss + 1));
      const keyframeDone = deliveries.findIndex(({ packet }) => packet.timestamp === timestampOf(10) && packet.marker);
      expect(outcome.needsKeyframe.slice(0, firstAfterLoss - 1).every((needed, index) => needed === (index < frames[0]!.length - 1))).toBe(true);
      expect(outcome.needsKeyframe.slice(keyframeDone - 8, keyframeDone).every(Boolean)).toBe(true);
      expect(outcome.needsKeyframe.slice(keyframeDone).some(Boolean)).toBe(false);
      const decoded = decode(Buffer.concat(outcome.frames.map((frame) => frame.data)));
      expect(decoded.errors).toBe('');
      expect(decoded.checksums).toHaveLength(expected.length);
    });
  });

  it('does not emit an IDR whose STAP-A with SPS and PPS was lost, though its FU-A start looks like a frame start', () => {
    const frames = packetize(baseline240, 1000, 300);
    expect(nalType(frames[10]![0]!.payload)).toBe(NalType.StapA);
    expect(nalType(frames[10]![1]!.payload)).toBe(NalType.FuA);
    const lost = frames[10]![0]!;
    const assembler = new RtpFrameAssembler('H264');
    const outcome = feed(assembler, schedule(frames).filter(({ packet }) => packet !== lost));
    expect(outcome.indexes).toEqual(baseline240.map((_, index) => index).filter((index) => index < 10 || index >= 15));
    expect(assembler.framesLost).toBe(1);
    expect(outcome.frames.filter((frame) => frame.keyframe).every((frame) => frame.width === 320)).toBe(true);
  });

  it('starts with needsKeyframe and skips P-frames until the first keyframe, without counting them as lost', () => {
    const frames = packetize(baseline240, 0).slice(2);
    const assembler = new RtpFrameAssembler('H264');
    const outcome = feed(assembler, schedule(frames));
    expect(outcome.indexes).toEqual(Array.from({ length: 25 }, (_, index) => index + 5));
    expect(outcome.frames[0]!.keyframe).toBe(true);
    expect(assembler.framesLost).toBe(0);
  });

  it('drops access units sent as STAP-B, MTAP or FU-B as unparseable', () => {
    const frames = packetize(baseline240, 0, 300);
    const broken = frames[3]![0]!;
    frames[3]![0] = { ...broken, payload: Buffer.from([(broken.payload[0]! & 0xe0) | NalType.FuB, ...broken.payload.subarray(1)]) };
    const assembler = new RtpFrameAssembler('H264');
    const outcome = feed(assembler, schedule(frames));
    expect(outcome.indexes).toEqual([0, 1, 2, ...Array.from({ length: 25 }, (_, index) => index + 5)]);
    expect(assembler.framesLost).toBe(1);
  });

  it('completes a frame without a marker bit when the next timestamp follows without a gap', () => {
    const frames = packetize(baseline240.slice(0, 3), 10);
    for (const packets of frames) packets[packets.length - 1] = { ...packets[packets.length - 1]!, marker: false };
    const assembler = new RtpFrameAssembler('H264');
    const deliveries = schedule(frames);
    const outcome = feed(assembler, deliveries);
    expect(outcome.indexes).toEqual([0, 1]); // frame 2 waits for whatever follows it
    expect(assembler.framesLost).toBe(0);
  });

  it('recovers at the next keyframe when the sender restarts its sequence numbers', () => {
    const before = packetize(baseline240.slice(0, 8), 40_000);
    const after = packetize(baseline240, 20_000).slice(8);
    const assembler = new RtpFrameAssembler('H264');
    const outcome = feed(assembler, schedule([...before, ...after]));
    expect(outcome.indexes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, ...Array.from({ length: 20 }, (_, index) => index + 10)]);
    expect(assembler.needsKeyframe).toBe(false);
  });

  it('reset() forgets pending packets and waits for a keyframe again', () => {
    const frames = packetize(baseline240.slice(0, 3), 500, 300);
    const assembler = new RtpFrameAssembler('H264');
    feed(assembler, schedule(frames.slice(0, 2)));
    expect(assembler.needsKeyframe).toBe(false);
    assembler.push(frames[2]![0]!, 100);
    assembler.reset();
    expect(assembler.needsKeyframe).toBe(true);
    expect(feed(assembler, schedule(frames.slice(2))).frames).toHaveLength(0); // a P-frame: skipped
    expect(assembler.framesLost).toBe(0);
  });
});
