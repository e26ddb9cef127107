import type { AssembledFrame, RtpFrameAssembler, RtpPacketView } from '../../core/rtp/rtp-frame-assembler.js';

export interface Delivery {
  packet: RtpPacketView;
  arrivalMs: number;
}

/** RTP packets for each frame, sequence numbers counting up from `firstSequence` (16-bit wrap). */
export function packetizeFrames<T>(
  frames: readonly T[],
  firstSequence: number,
  timestampOf: (index: number) => number,
  packetize: (frame: T, emit: (payload: Buffer, marker: boolean) => void) => void,
): RtpPacketView[][] {
  let sequence = firstSequence;
  return frames.map((frame, index) => {
    const packets: RtpPacketView[] = [];
    packetize(frame, (payload, marker) => {
      packets.push({ sequenceNumber: sequence & 0xffff, timestamp: timestampOf(index), marker, payload });
      sequence++;
    });
    return packets;
  });
}

/** Frame i arrives from startMs + i·33 ms on, its packets 0.1 ms apart. */
export function schedule(frames: RtpPacketView[][], startMs = 0): Delivery[] {
  return frames.flatMap((packets, frameIndex) => packets.map((packet, packetIndex) => ({ packet, arrivalMs: startMs + frameIndex * 33 + packetIndex * 0.1 })));
}

export interface Outcome {
  frames: AssembledFrame[];
  /** Indexes of the emitted frames, in order. */
  indexes: number[];
  /** needsKeyframe after each delivery. */
  needsKeyframe: boolean[];
}

export function feed(assembler: RtpFrameAssembler, deliveries: Delivery[], indexOf: (timestamp: number) => number): Outcome {
  const outcome: Outcome = { frames: [], indexes: [], needsKeyframe: [] };
  for (const { packet, arrivalMs } of deliveries) {
    const frame = assembler.push(packet, arrivalMs);
    if (frame) {
      outcome.frames.push(frame);
      outcome.indexes.push(indexOf(frame.rtpTimestamp));
    }
    outcome.needsKeyframe.push(assembler.needsKeyframe);
  }
  return outcome;
}
