import { NalType, nalType } from './h264-nal.js';
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
  /** H.264: one Annex-B access unit (00 00 00 01 before each NAL); VP8: the frame without payload descriptors. */
  data: Buffer;
  /** 90 kHz. */
  rtpTimestamp: number;
  keyframe: boolean;
  /** From an SPS in this access unit (H.264, cropping applied) or the keyframe header (VP8). */
  width?: number;
  height?: number;
  /** Arrival time of the frame's first packet. */
  firstPacketMs: number;
}

interface PendingPacket {
  sequence: number;
  payload: Buffer;
}

interface PendingFrame {
  timestamp: number;
  packets: PendingPacket[];
  firstArrivalMs: number;
  markerSequence: number | undefined;
}

/** Frames held while waiting for reordered packets; beyond this the oldest counts as lost. */
const MAX_PENDING_FRAMES = 4;
const START_CODE = Buffer.from([0, 0, 0, 1]);

/**
 * Turns RTP packets into whole compressed frames. Frames with missing packets are dropped, and after
 * a loss only a keyframe is let through (a P-frame after a gap corrupts the decoder until the next
 * keyframe anyway); `needsKeyframe` tells the caller to ask the publisher for one.
 */
export class RtpFrameAssembler {
  private pending: PendingFrame[] = [];
  private highestSequence: number | undefined;
  private lastEmittedSequence: number | undefined;
  private lost = 0;
  private waitingForKeyframe = true;

  constructor(readonly codec: VideoCodecName) {}

  get framesLost(): number {
    return this.lost;
  }

  get needsKeyframe(): boolean {
    return this.waitingForKeyframe;
  }

  reset(): void {
    this.pending = [];
    this.highestSequence = undefined;
    this.lastEmittedSequence = undefined;
    this.waitingForKeyframe = true;
  }

  push(packet: RtpPacketView, arrivalMs: number): AssembledFrame | undefined {
    const sequence = this.unwrap(packet.sequenceNumber);
    if (this.lastEmittedSequence !== undefined && sequence <= this.lastEmittedSequence) return undefined;
    let frame = this.pending.find((candidate) => candidate.timestamp === packet.timestamp);
    if (!frame) {
      frame = { timestamp: packet.timestamp, packets: [], firstArrivalMs: arrivalMs, markerSequence: undefined };
      this.pending.push(frame);
    }
    if (frame.packets.some((existing) => existing.sequence === sequence)) return undefined;
    frame.packets.push({ sequence, payload: packet.payload });
    frame.packets.sort((a, b) => a.sequence - b.sequence);
    frame.firstArrivalMs = Math.min(frame.firstArrivalMs, arrivalMs);
    if (packet.marker) frame.markerSequence = sequence;
    this.pending.sort((a, b) => a.packets[0]!.sequence - b.packets[0]!.sequence);

    const completed = this.isComplete(frame) ? frame : undefined;
    if (!completed) {
      while (this.pending.length > MAX_PENDING_FRAMES) this.dropOldest();
      return undefined;
    }
    // Anything older than a completed frame can no longer complete in order: it is lost.
    while (this.pending[0] !== completed) this.dropOldest();
    this.pending.shift();
    const lastEmitted = this.lastEmittedSequence;
    this.lastEmittedSequence = completed.markerSequence!;
    const contiguous = lastEmitted === undefined || completed.packets[0]!.sequence === lastEmitted + 1;
    if (!contiguous) this.markLoss();
    let assembled: AssembledFrame;
    try {
      assembled = this.assemble(completed);
    } catch {
      this.lost++;
      this.markLoss();
      return undefined;
    }
    if (this.waitingForKeyframe) {
      if (!assembled.keyframe) {
        this.lost++;
        return undefined;
      }
      this.waitingForKeyframe = false;
    }
    return assembled;
  }

  private isComplete(frame: PendingFrame): boolean {
    if (frame.markerSequence === undefined) return false;
    const first = frame.packets[0]!;
    if (frame.markerSequence - first.sequence + 1 !== frame.packets.length) return false;
    return this.startsFrame(first.payload);
  }

  private dropOldest(): void {
    this.pending.shift();
    this.lost++;
    this.markLoss();
  }

  private markLoss(): void {
    this.waitingForKeyframe = true;
  }

  private unwrap(sequenceNumber: number): number {
    if (this.highestSequence === undefined) {
      this.highestSequence = sequenceNumber + 0x10000;
      return this.highestSequence;
    }
    const highest = this.highestSequence;
    const delta = (sequenceNumber - (highest & 0xffff) + 0x10000) & 0xffff;
    if (delta < 0x8000) {
      this.highestSequence = highest + delta;
      return this.highestSequence;
    }
    return highest - (0x10000 - delta);
  }

  private startsFrame(payload: Buffer): boolean {
    if (payload.length === 0) return false;
    if (this.codec === 'VP8') return (payload[0]! & 0x10) !== 0 && (payload[0]! & 0x0f) === 0;
    const type = nalType(payload);
    if (type === NalType.FuA) return payload.length > 1 && (payload[1]! & 0x80) !== 0;
    return true;
  }

  private assemble(frame: PendingFrame): AssembledFrame {
    return this.codec === 'H264' ? this.assembleH264(frame) : this.assembleVp8(frame);
  }

  private assembleH264(frame: PendingFrame): AssembledFrame {
    const parts: Buffer[] = [];
    const found = { keyframe: false, width: 0, height: 0 };
    let fragment: Buffer[] | undefined;
    const addNal = (nal: Buffer): void => {
      if (nal.length === 0) return;
      const type = nalType(nal);
      if (type === NalType.IdrSlice) found.keyframe = true;
      if (type === NalType.Sps) Object.assign(found, parseH264Sps(nal));
      parts.push(START_CODE, nal);
    };
    for (const { payload } of frame.packets) {
      const type = nalType(payload);
      if (type >= 1 && type <= 23) {
        addNal(payload);
      } else if (type === NalType.StapA) {
        let offset = 1;
        while (offset + 2 <= payload.length) {
          const length = payload.readUInt16BE(offset);
          offset += 2;
          if (offset + length > payload.length) throw new Error('STAP-A unit runs past the packet');
          addNal(payload.subarray(offset, offset + length));
          offset += length;
        }
      } else if (type === NalType.FuA) {
        if (payload.length < 2) throw new Error('FU-A packet too short');
        const fuHeader = payload[1]!;
        if (fuHeader & 0x80) fragment = [Buffer.from([(payload[0]! & 0xe0) | (fuHeader & 0x1f)])];
        if (!fragment) throw new Error('FU-A continuation without a start');
        fragment.push(payload.subarray(2));
        if (fuHeader & 0x40) {
          addNal(Buffer.concat(fragment));
          fragment = undefined;
        }
      } else {
        throw new Error(`unsupported H.264 RTP packet type ${type}`);
      }
    }
    if (fragment) throw new Error('FU-A fragment without an end');
    const result: AssembledFrame = { codec: 'H264', data: Buffer.concat(parts), rtpTimestamp: frame.timestamp, keyframe: found.keyframe, firstPacketMs: frame.firstArrivalMs };
    if (found.width > 0) {
      result.width = found.width;
      result.height = found.height;
    }
    return result;
  }

  private assembleVp8(frame: PendingFrame): AssembledFrame {
    const parts: Buffer[] = [];
    for (const { payload } of frame.packets) parts.push(payload.subarray(vp8DescriptorLength(payload)));
    const data = Buffer.concat(parts);
    if (data.length < 3) throw new Error('VP8 frame too short');
    const keyframe = (data[0]! & 0x01) === 0;
    const result: AssembledFrame = { codec: 'VP8', data, rtpTimestamp: frame.timestamp, keyframe, firstPacketMs: frame.firstArrivalMs };
    if (keyframe) {
      if (data.length < 10 || data[3] !== 0x9d || data[4] !== 0x01 || data[5] !== 0x2a) throw new Error('VP8 keyframe without a start code');
      result.width = data.readUInt16LE(6) & 0x3fff;
      result.height = data.readUInt16LE(8) & 0x3fff;
    }
    return result;
  }
}

/** Length of the VP8 payload descriptor (RFC 7741 section 4.2). */
function vp8DescriptorLength(payload: Buffer): number {
  let length = 1;
  if (payload[0]! & 0x80) {
    const extension = payload[1]!;
    length = 2;
    if (extension & 0x80) length += payload[2]! & 0x80 ? 2 : 1;
    if (extension & 0x40) length += 1;
    if (extension & 0x30) length += 1;
  }
  if (length > payload.length) throw new Error('VP8 payload descriptor runs past the packet');
  return length;
}
