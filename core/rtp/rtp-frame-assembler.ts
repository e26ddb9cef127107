import { NalType, isSingleNalType } from './h264-nal.js';
import { parseH264Sps } from './h264-sps.js';

export type VideoCodecName = 'H264' | 'VP8';

export interface RtpPacketView {
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payload: Buffer;
}

export interface AssembledFrame {
  codec: VideoCodecName;
  /** H.264: one Annex-B access unit (00 00 00 01 before each NAL unit); VP8: the frame with the payload descriptors stripped. */
  data: Buffer;
  /** 90 kHz. */
  rtpTimestamp: number;
  /** H.264: contains an IDR slice; VP8: the P bit of the frame tag is 0. */
  keyframe: boolean;
  /** H.264: from an SPS in this access unit, cropping applied; VP8: from the keyframe header. */
  width?: number;
  height?: number;
  /** Arrival time of the frame's earliest-arriving packet. */
  firstPacketMs: number;
}

export interface RtpFrameAssemblerOptions {
  /** A missing packet counts as lost once packets this far past it have arrived. */
  reorderSlackPackets?: number;
  /** …or once packets past it have been arriving for this long (room for NACK retransmissions). */
  reorderWaitMs?: number;
}

/** The VP8 payload descriptor (RFC 7741 section 4.2). */
export interface Vp8PayloadDescriptor {
  /** Bytes the descriptor takes at the start of the payload. */
  length: number;
  /** N: the frame is not used as a reference. */
  nonReference: boolean;
  /** S: the payload starts a VP8 partition. */
  startOfPartition: boolean;
  /** PID. */
  partitionIndex: number;
  /** 7- or 15-bit PictureID, -1 when absent. */
  pictureId: number;
  /** TL0PICIDX, -1 when absent. */
  tl0PictureIndex: number;
  /** TID, -1 when absent. */
  temporalLayer: number;
  /** Y: layer sync, meaningful when temporalLayer is present. */
  layerSync: boolean;
  /** KEYIDX, -1 when absent. */
  keyIndex: number;
}

export function emptyVp8PayloadDescriptor(): Vp8PayloadDescriptor {
  return { length: 0, nonReference: false, startOfPartition: false, partitionIndex: 0, pictureId: -1, tl0PictureIndex: -1, temporalLayer: -1, layerSync: false, keyIndex: -1 };
}

/** Parses the VP8 payload descriptor at the start of `payload` into `into` (reused to spare an allocation per packet). */
export function readVp8PayloadDescriptor(payload: Uint8Array, into: Vp8PayloadDescriptor = emptyVp8PayloadDescriptor()): Vp8PayloadDescriptor {
  if (payload.length < 1) throw new Error('VP8 RTP payload is empty');
  const first = payload[0]!;
  into.nonReference = (first & 0x20) !== 0;
  into.startOfPartition = (first & 0x10) !== 0;
  into.partitionIndex = first & 0x07;
  into.pictureId = -1;
  into.tl0PictureIndex = -1;
  into.temporalLayer = -1;
  into.layerSync = false;
  into.keyIndex = -1;
  let length = 1;
  if (first & 0x80) {
    if (payload.length < 2) throw new Error('VP8 payload descriptor is truncated: no extension byte after X');
    const extension = payload[1]!;
    length = 2;
    if (extension & 0x80) {
      if (payload.length < length + 1) throw new Error('VP8 payload descriptor is truncated in the PictureID');
      const high = payload[length]!;
      if (high & 0x80) {
        if (payload.length < length + 2) throw new Error('VP8 payload descriptor is truncated in the 15-bit PictureID');
        into.pictureId = ((high & 0x7f) << 8) | payload[length + 1]!;
        length += 2;
      } else {
        into.pictureId = high;
        length += 1;
      }
    }
    if (extension & 0x40) {
      if (payload.length < length + 1) throw new Error('VP8 payload descriptor is truncated in TL0PICIDX');
      into.tl0PictureIndex = payload[length]!;
      length += 1;
    }
    if (extension & 0x30) {
      if (payload.length < length + 1) throw new Error('VP8 payload descriptor is truncated in TID/KEYIDX');
      const layerByte = payload[length]!;
      if (extension & 0x20) {
        into.temporalLayer = layerByte >>> 6;
        into.layerSync = (layerByte & 0x20) !== 0;
      }
      if (extension & 0x10) into.keyIndex = layerByte & 0x1f;
      length += 1;
    }
  }
  into.length = length;
  return into;
}

/** Packets of one RTP timestamp, ascending by unwrapped sequence number. Recycled to spare allocations. */
interface PendingFrame {
  timestamp: number;
  sequences: number[];
  /** payloads[i] came with sequences[i]. */
  payloads: Buffer[];
  firstArrivalMs: number;
  /** Unwrapped sequence number of the packet with the marker bit, -1 before it arrives. */
  markerSequence: number;
}

/** examine() verdicts; any other value is the sequence number the frame is waiting for. */
const FRAME_COMPLETE = -1;
const FRAME_BROKEN = -2;

const DEFAULT_REORDER_SLACK_PACKETS = 16;
const DEFAULT_REORDER_WAIT_MS = 50;
/** Bounds on what waits for missing packets, so a broken sender cannot grow memory. */
const MAX_PENDING_FRAMES = 8;
const MAX_PACKETS_PER_FRAME = 4096;
/** A packet this far behind what was already handled means the sender restarted its sequence numbers. */
const RESTART_DISTANCE = 1000;
const START_CODE_BYTES = 4;

/**
 * Turns RTP packets into whole compressed frames (H.264 access units, VP8 frames). Packets are grouped
 * by RTP timestamp and ordered by sequence number, so small reordering and duplicates do no harm.
 * Frames with missing packets are dropped, and after any loss only a keyframe is let through: a
 * P-frame after a gap would corrupt the decoder's picture until the next keyframe anyway.
 * Frames come out in order, one per push; a frame that became ready together with an earlier one
 * (a late packet filled a gap) comes out with the next packet.
 */
export class RtpFrameAssembler {
  private readonly reorderSlackPackets: number;
  private readonly reorderWaitMs: number;
  /** Frames waiting for packets, oldest first (frames hold disjoint sequence ranges). */
  private readonly pending: PendingFrame[] = [];
  private readonly spareFrames: PendingFrame[] = [];
  /** Highest unwrapped sequence number seen, -1 before the first packet. */
  private highestSequence = -1;
  /** Packets below this belong to frames already emitted or dropped, -1 before the first frame. */
  private floorSequence = -1;
  /** True when the next frame must begin exactly at floorSequence (the previous one was emitted whole). */
  private continuous = false;
  /** Stragglers of the last frame emitted or dropped carry this timestamp and are ignored. */
  private finishedTimestamp = -1;
  private holeSequence = -1;
  private holeSinceMs = 0;
  private lostCount = 0;
  private waitingForKeyframe = true;
  // Results of the scan of the frame being assembled, kept in fields to spare an object per frame.
  private scanKeyframe = false;
  private scanWidth = 0;
  private scanHeight = 0;
  private readonly vp8Descriptor = emptyVp8PayloadDescriptor();

  constructor(
    readonly codec: VideoCodecName,
    options: RtpFrameAssemblerOptions = {},
  ) {
    this.reorderSlackPackets = options.reorderSlackPackets ?? DEFAULT_REORDER_SLACK_PACKETS;
    this.reorderWaitMs = options.reorderWaitMs ?? DEFAULT_REORDER_WAIT_MS;
  }

  /** Frames dropped because packets were missing or the frame could not be parsed (not frames skipped while waiting for a keyframe). */
  get framesLost(): number {
    return this.lostCount;
  }

  /** True from the start and after a loss until a keyframe is emitted: the caller sends PLIs (rate-limited) meanwhile. */
  get needsKeyframe(): boolean {
    return this.waitingForKeyframe;
  }

  /** Forgets every packet and waits for a keyframe again; framesLost keeps counting. */
  reset(): void {
    while (this.pending.length > 0) this.recycle(this.pending.pop()!);
    this.highestSequence = -1;
    this.floorSequence = -1;
    this.continuous = false;
    this.finishedTimestamp = -1;
    this.holeSequence = -1;
    this.waitingForKeyframe = true;
  }

  push(packet: RtpPacketView, arrivalMs: number): AssembledFrame | undefined {
    let sequence = this.unwrap(packet.sequenceNumber);
    if (sequence < this.floorSequence && this.floorSequence - sequence > RESTART_DISTANCE) {
      this.restart();
      sequence = this.unwrap(packet.sequenceNumber);
    }
    // Late packets of frames already handled, and duplicates, change nothing.
    if (sequence >= this.floorSequence && packet.timestamp !== this.finishedTimestamp) {
      const frame = this.frameFor(packet.timestamp, sequence, arrivalMs);
      if (this.insert(frame, sequence, packet.payload)) {
        if (packet.marker) frame.markerSequence = sequence;
        if (arrivalMs < frame.firstArrivalMs) frame.firstArrivalMs = arrivalMs;
      }
    }
    return this.release(arrivalMs);
  }

  /** Emits the oldest frame when it is complete; drops frames whose missing packets have stopped being worth the wait. */
  private release(arrivalMs: number): AssembledFrame | undefined {
    let cascading = false;
    while (this.pending.length > 0) {
      const oldest = this.pending[0]!;
      const verdict = this.examine(oldest, this.pending[1]);
      if (verdict === FRAME_COMPLETE) {
        const frame = this.emit(oldest);
        if (frame) return frame;
        continue;
      }
      if (verdict !== FRAME_BROKEN && !this.shouldGiveUp(verdict, arrivalMs, cascading)) return undefined;
      cascading = true;
      const first = oldest.sequences[0]!;
      if (this.continuous && first > this.floorSequence && this.surelyStartsFrame(oldest.payloads[0]!)) {
        // The missing packets before this frame were a whole frame of their own.
        this.noteLoss();
        this.continuous = false;
        this.floorSequence = first;
      } else {
        this.drop(oldest);
      }
    }
    return undefined;
  }

  /** FRAME_COMPLETE, FRAME_BROKEN, or the sequence number of the first packet the frame still waits for. */
  private examine(frame: PendingFrame, next: PendingFrame | undefined): number {
    const sequences = frame.sequences;
    const first = sequences[0]!;
    const last = sequences[sequences.length - 1]!;
    // Packets never go below the floor, so this means the packet before the frame is the last one handled.
    const previousKnown = first === this.floorSequence;
    if (this.continuous && !previousKnown) return this.floorSequence;
    // Sequences are sorted and unique, so a span equal to the count means no gaps.
    if (last - first + 1 !== sequences.length) {
      for (let index = 1; index < sequences.length; index++) {
        if (sequences[index] !== first + index) return first + index;
      }
    }
    if (frame.markerSequence >= 0 && frame.markerSequence !== last) return FRAME_BROKEN;
    // Without a marker, the next frame beginning right after the last packet also closes this one.
    const ended = frame.markerSequence === last || (frame.markerSequence < 0 && next !== undefined && next.sequences[0] === last + 1);
    if (!ended) return last + 1;
    if (previousKnown) return this.startsFrame(frame.payloads[0]!) ? FRAME_COMPLETE : FRAME_BROKEN;
    // The packet before is missing (or this is the first frame): unless the first packet can only open a
    // frame, the real first packet may still come.
    return this.surelyStartsFrame(frame.payloads[0]!) ? FRAME_COMPLETE : first - 1;
  }

  private shouldGiveUp(hole: number, arrivalMs: number, cascading: boolean): boolean {
    if (this.pending.length > MAX_PENDING_FRAMES || this.pending[0]!.sequences.length > MAX_PACKETS_PER_FRAME) return true;
    if (this.highestSequence <= hole) return false; // nothing past the hole yet: the frame is still arriving
    if (hole !== this.holeSequence) {
      this.holeSequence = hole;
      // A hole found while dropping an earlier frame has been open at least as long as that frame's.
      if (!cascading) this.holeSinceMs = arrivalMs;
    }
    return this.highestSequence - hole > this.reorderSlackPackets || arrivalMs - this.holeSinceMs > this.reorderWaitMs;
  }

  private emit(frame: PendingFrame): AssembledFrame | undefined {
    this.pending.shift();
    this.floorSequence = frame.sequences[frame.sequences.length - 1]! + 1;
    this.continuous = true;
    this.finishedTimestamp = frame.timestamp;
    this.holeSequence = -1;
    let assembled: AssembledFrame | undefined;
    try {
      assembled = this.codec === 'H264' ? this.assembleH264(frame, this.waitingForKeyframe) : this.assembleVp8(frame, this.waitingForKeyframe);
      if (assembled) this.waitingForKeyframe = false;
    } catch {
      // Unparseable: the decoder would choke on it just the same.
      this.noteLoss();
    }
    this.recycle(frame);
    return assembled;
  }

  private drop(frame: PendingFrame): void {
    this.pending.shift();
    // A frame that would have been skipped while waiting for a keyframe anyway is no loss.
    if (!this.waitingForKeyframe || this.mayBeKeyframe(frame)) this.noteLoss();
    this.floorSequence = Math.max(this.floorSequence, frame.sequences[frame.sequences.length - 1]! + 1);
    this.continuous = false;
    this.finishedTimestamp = frame.timestamp;
    this.holeSequence = -1;
    this.recycle(frame);
  }

  private noteLoss(): void {
    this.lostCount++;
    this.waitingForKeyframe = true;
  }

  /** The sender restarted: what is pending can never complete. */
  private restart(): void {
    this.lostCount += this.pending.length;
    this.reset();
  }

  private recycle(frame: PendingFrame): void {
    frame.sequences.length = 0;
    frame.payloads.length = 0; // let go of the packet buffers
    if (this.spareFrames.length < MAX_PENDING_FRAMES) this.spareFrames.push(frame);
  }

  private frameFor(timestamp: number, sequence: number, arrivalMs: number): PendingFrame {
    for (const frame of this.pending) if (frame.timestamp === timestamp) return frame;
    const frame = this.spareFrames.pop() ?? { timestamp: 0, sequences: [], payloads: [], firstArrivalMs: 0, markerSequence: -1 };
    frame.timestamp = timestamp;
    frame.firstArrivalMs = arrivalMs;
    frame.markerSequence = -1;
    let position = this.pending.length;
    while (position > 0 && this.pending[position - 1]!.sequences[0]! > sequence) position--;
    this.pending.splice(position, 0, frame);
    return frame;
  }

  /** Adds the packet in sequence order; false for a duplicate. */
  private insert(frame: PendingFrame, sequence: number, payload: Buffer): boolean {
    const sequences = frame.sequences;
    let position = sequences.length;
    while (position > 0 && sequences[position - 1]! >= sequence) {
      if (sequences[position - 1] === sequence) return false;
      position--;
    }
    if (position === sequences.length) {
      sequences.push(sequence);
      frame.payloads.push(payload);
    } else {
      sequences.splice(position, 0, sequence);
      frame.payloads.splice(position, 0, payload);
    }
    return true;
  }

  /** Extends a 16-bit sequence number to a monotonic one, taking the nearer of the two wrap-around readings. */
  private unwrap(sequenceNumber: number): number {
    if (this.highestSequence < 0) {
      // Start one cycle up, so that unwrapping backwards never goes below zero.
      this.highestSequence = 0x10000 + sequenceNumber;
      return this.highestSequence;
    }
    const forward = (sequenceNumber - this.highestSequence) & 0xffff;
    if (forward < 0x8000) {
      this.highestSequence += forward;
      return this.highestSequence;
    }
    return this.highestSequence - (0x10000 - forward);
  }

  private startsFrame(payload: Buffer): boolean {
    if (payload.length === 0) return false;
    if (this.codec === 'VP8') {
      try {
        const descriptor = readVp8PayloadDescriptor(payload, this.vp8Descriptor);
        return descriptor.startOfPartition && descriptor.partitionIndex === 0;
      } catch {
        return false;
      }
    }
    // FU-A continuations are the only H.264 payloads that cannot open a frame.
    if ((payload[0]! & 0x1f) === NalType.FuA) return payload.length > 1 && (payload[1]! & 0x80) !== 0;
    return true;
  }

  /**
   * For frames whose preceding packet is missing: true only when nothing of the frame can be before this
   * payload. H.264: an AUD or SPS, or a non-IDR slice with first_mb_in_slice 0 (the first slice of a
   * picture), alone or first in a STAP-A or FU-A; not an IDR slice, whose SPS and PPS usually come
   * first and may be what is missing. VP8: the S bit on partition 0 already says so.
   */
  private surelyStartsFrame(payload: Buffer): boolean {
    if (!this.startsFrame(payload)) return false;
    if (this.codec === 'VP8') return true;
    let type = payload[0]! & 0x1f;
    let bodyIndex = 1; // where the NAL unit's payload (the slice header for slices) begins
    if (type === NalType.StapA) {
      if (payload.length < 4) return false;
      type = payload[3]! & 0x1f;
      bodyIndex = 4;
    } else if (type === NalType.FuA) {
      type = payload[1]! & 0x1f;
      bodyIndex = 2;
    }
    if (type === NalType.Sps || type === NalType.AccessUnitDelimiter) return true;
    if (type !== NalType.NonIdrSlice) return false;
    // first_mb_in_slice is the slice header's first ue(v); the value 0 is the single bit 1.
    return bodyIndex < payload.length && (payload[bodyIndex]! & 0x80) !== 0;
  }

  /** Whether an incomplete frame could have been a keyframe (then dropping it is a loss even while waiting for one). */
  private mayBeKeyframe(frame: PendingFrame): boolean {
    const payloads = frame.payloads;
    if (this.codec === 'VP8') {
      const first = payloads[0]!;
      if (!this.startsFrame(first)) return true; // its frame tag is missing: cannot tell
      const tagIndex = this.vp8Descriptor.length;
      return tagIndex >= first.length || (first[tagIndex]! & 0x01) === 0;
    }
    for (let index = 0; index < payloads.length; index++) {
      const payload = payloads[index]!;
      const type = payload.length > 0 ? payload[0]! & 0x1f : 0;
      if (type === NalType.IdrSlice) return true;
      if (type === NalType.FuA && payload.length > 1 && (payload[1]! & 0x1f) === NalType.IdrSlice) return true;
      if (type === NalType.StapA) {
        for (let offset = 1; offset + 2 < payload.length; offset += 2 + payload.readUInt16BE(offset)) {
          if ((payload[offset + 2]! & 0x1f) === NalType.IdrSlice) return true;
        }
      }
    }
    return false;
  }

  private assembleH264(frame: PendingFrame, keyframeOnly: boolean): AssembledFrame | undefined {
    this.scanKeyframe = false;
    this.scanWidth = 0;
    this.scanHeight = 0;
    const size = this.walkH264(frame.payloads, undefined);
    if (keyframeOnly && !this.scanKeyframe) return undefined;
    const data = Buffer.allocUnsafe(size);
    this.walkH264(frame.payloads, data);
    return this.result('H264', data, frame, this.scanKeyframe, this.scanWidth, this.scanHeight);
  }

  /**
   * One walk over the RTP payloads of an access unit, so measuring and writing cannot disagree: without
   * `output` it validates, sizes the Annex-B result and notes IDR slices; with it, it writes and reads SPSs.
   */
  private walkH264(payloads: readonly Buffer[], output: Buffer | undefined): number {
    let length = 0;
    let fragmentStart = -1; // where the NAL unit being rebuilt from FU-A fragments begins in the output, -1 when none
    for (let index = 0; index < payloads.length; index++) {
      const payload = payloads[index]!;
      if (payload.length === 0) throw new Error('empty H.264 RTP payload');
      const type = payload[0]! & 0x1f;
      if (type === NalType.FuA) {
        if (payload.length < 2) throw new Error('FU-A packet without an FU header');
        const fuHeader = payload[1]!;
        const fragmentType = fuHeader & 0x1f;
        if (fuHeader & 0x80) {
          if (fragmentStart >= 0) throw new Error('FU-A start inside an unfinished fragmented NAL unit');
          if (!isSingleNalType(fragmentType)) throw new Error(`FU-A carries an invalid NAL unit type ${fragmentType}`);
          length = this.writeStartCode(output, length);
          fragmentStart = length;
          if (output) output[length] = (payload[0]! & 0xe0) | fragmentType;
          length += 1;
        } else if (fragmentStart < 0) {
          throw new Error('FU-A fragment without its start fragment');
        }
        if (output) payload.copy(output, length, 2);
        length += payload.length - 2;
        if (fuHeader & 0x40) {
          this.noteNal(fragmentType, output, fragmentStart, length);
          fragmentStart = -1;
        }
        continue;
      }
      if (fragmentStart >= 0) throw new Error('fragmented NAL unit interrupted before its end fragment');
      if (isSingleNalType(type)) {
        length = this.copyNal(payload, 0, payload.length, output, length);
      } else if (type === NalType.StapA) {
        let offset = 1;
        while (offset < payload.length) {
          if (offset + 2 > payload.length) throw new Error('STAP-A ends inside a NAL unit size');
          const unitSize = payload.readUInt16BE(offset);
          offset += 2;
          if (unitSize === 0 || offset + unitSize > payload.length) throw new Error(`STAP-A NAL unit of ${unitSize} bytes does not fit the packet`);
          if (!isSingleNalType(payload[offset]! & 0x1f)) throw new Error(`STAP-A carries an invalid NAL unit type ${payload[offset]! & 0x1f}`);
          length = this.copyNal(payload, offset, offset + unitSize, output, length);
          offset += unitSize;
        }
      } else {
        throw new Error(`unsupported H.264 RTP payload type ${type}: only single NAL units, STAP-A and FU-A are handled`);
      }
    }
    if (fragmentStart >= 0) throw new Error('the last FU-A fragment of the access unit has no end bit');
    if (length === 0) throw new Error('H.264 access unit without NAL units');
    return length;
  }

  private writeStartCode(output: Buffer | undefined, at: number): number {
    if (output) {
      output[at] = 0;
      output[at + 1] = 0;
      output[at + 2] = 0;
      output[at + 3] = 1;
    }
    return at + START_CODE_BYTES;
  }

  private copyNal(source: Buffer, start: number, end: number, output: Buffer | undefined, at: number): number {
    const nalStart = this.writeStartCode(output, at);
    if (output) source.copy(output, nalStart, start, end);
    const nalEnd = nalStart + end - start;
    this.noteNal(source[start]! & 0x1f, output, nalStart, nalEnd);
    return nalEnd;
  }

  private noteNal(type: number, output: Buffer | undefined, start: number, end: number): void {
    if (type === NalType.IdrSlice) this.scanKeyframe = true;
    if (type === NalType.Sps && output) {
      const sps = parseH264Sps(output.subarray(start, end));
      this.scanWidth = sps.width;
      this.scanHeight = sps.height;
    }
  }

  private assembleVp8(frame: PendingFrame, keyframeOnly: boolean): AssembledFrame | undefined {
    const descriptor = this.vp8Descriptor;
    const payloads = frame.payloads;
    let size = 0;
    let frameTag = -1; // first byte of the VP8 frame, wherever the first data byte is
    for (let index = 0; index < payloads.length; index++) {
      const payload = payloads[index]!;
      readVp8PayloadDescriptor(payload, descriptor);
      if (frameTag < 0 && payload.length > descriptor.length) frameTag = payload[descriptor.length]!;
      size += payload.length - descriptor.length;
    }
    if (size < 3) throw new Error(`VP8 frame of ${size} bytes is shorter than its frame tag`);
    const keyframe = (frameTag & 0x01) === 0;
    if (keyframeOnly && !keyframe) return undefined;
    const data = Buffer.allocUnsafe(size);
    let offset = 0;
    for (let index = 0; index < payloads.length; index++) {
      const payload = payloads[index]!;
      readVp8PayloadDescriptor(payload, descriptor);
      offset += payload.copy(data, offset, descriptor.length);
    }
    // Frame tag (RFC 6386 section 9.1): the first partition must fit in the frame.
    const firstPartitionBytes = (data[0]! | (data[1]! << 8) | (data[2]! << 16)) >>> 5;
    const headerBytes = keyframe ? 10 : 3;
    if (size < headerBytes || firstPartitionBytes > size - headerBytes) throw new Error('VP8 frame is shorter than its first partition');
    if (!keyframe) return this.result('VP8', data, frame, false, 0, 0);
    if (data[3] !== 0x9d || data[4] !== 0x01 || data[5] !== 0x2a) throw new Error('VP8 keyframe without its start code');
    return this.result('VP8', data, frame, true, data.readUInt16LE(6) & 0x3fff, data.readUInt16LE(8) & 0x3fff);
  }

  private result(codec: VideoCodecName, data: Buffer, frame: PendingFrame, keyframe: boolean, width: number, height: number): AssembledFrame {
    const assembled: AssembledFrame = { codec, data, rtpTimestamp: frame.timestamp, keyframe, firstPacketMs: frame.firstArrivalMs };
    if (width > 0 && height > 0) {
      assembled.width = width;
      assembled.height = height;
    }
    return assembled;
  }
}
