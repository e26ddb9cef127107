import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { RTCPeerConnection } from 'werift';
import { decodeBurnIn, burnInBlockSize, BURN_IN_BLOCKS, type BurnInCode } from '../../transforms/burn-in-layout.js';
import { FfmpegCommand } from '../../core/process/ffmpeg-command.js';
import { epochMs } from '../../server/pipeline/pipeline-messages.js';
import { Y4mReader } from '../../core/media/y4m-reader.js';
import { RtpFrameAssembler } from '../../core/rtp/rtp-frame-assembler.js';
import { NalType, nalType } from '../../core/rtp/h264-nal.js';
import { clientPeerConnection, h264ClientCodec, negotiate } from './webrtc-client.js';
import { diesWithParent } from '../../core/process/dies-with-parent.js';

export interface ViewerFrame {
  code: BurnInCode | undefined;
  receivedMs: number;
  /** Mean luma of a 16×16 patch at the centre of the picture (shows what transforms did). */
  centerLuma: number;
  width: number;
  height: number;
}

/** An H.264 RTP payload (RFC 6184) that begins a keyframe: a parameter set or IDR slice, whole, first in a STAP-A, or a fragment's start. */
function startsKeyframe(payload: Buffer): boolean {
  const isKey = (type: number): boolean => type === NalType.IdrSlice || type === NalType.Sps || type === NalType.Pps;
  const type = nalType(payload);
  if (type === NalType.StapA) return payload.length > 3 && isKey(nalType(payload.subarray(3)));
  if (type === NalType.FuA) return payload.length > 1 && (payload[1]! & 0x80) !== 0 && isKey(nalType(payload.subarray(1)));
  return isKey(type);
}

/**
 * A WHEP viewer that is not a browser: werift receives the processed H.264, ffmpeg decodes it, and
 * the burn-in code of every frame is read back (frame number, server capture time).
 */
export class WhepClient {
  private pc: RTCPeerConnection | undefined;
  private decoder: ChildProcessWithoutNullStreams | undefined;
  private sessionUrl: string | undefined;
  private readonly assembler = new RtpFrameAssembler('H264');
  private readonly arrivals: number[] = [];
  readonly frames: ViewerFrame[] = [];
  rtpPackets = 0;
  /** RTP packets that never arrived, from gaps in the sequence numbers. */
  packetsLost = 0;
  accessUnits = 0;
  /** What the first video packet carried: the start of a keyframe (SPS, PPS or IDR), or part of a frame predicted from earlier ones. */
  firstVideoPacket: 'keyframe' | 'delta' | undefined;
  private lastSequence: number | undefined;

  /** decodeFrames=false only counts packets and frames (cheap, for fan-out benchmarks). */
  constructor(
    private readonly endpoint: string,
    private readonly decodeFrames = true,
  ) {}

  async start(): Promise<void> {
    const pc = clientPeerConnection([h264ClientCodec()]);
    this.pc = pc;
    const transceiver = pc.addTransceiver('video', { direction: 'recvonly' });
    transceiver.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => {
        this.rtpPackets++;
        this.firstVideoPacket ??= startsKeyframe(rtp.payload) ? 'keyframe' : 'delta';
        if (this.lastSequence !== undefined) {
          const gap = (rtp.header.sequenceNumber - this.lastSequence + 0x10000) & 0xffff;
          if (gap > 1 && gap < 0x8000) this.packetsLost += gap - 1;
        }
        this.lastSequence = rtp.header.sequenceNumber;
        const frame = this.assembler.push(
          { sequenceNumber: rtp.header.sequenceNumber, timestamp: rtp.header.timestamp, marker: rtp.header.marker, payload: rtp.payload },
          epochMs(),
        );
        if (this.assembler.needsKeyframe) void transceiver.receiver.sendRtcpPLI(rtp.header.ssrc);
        if (!frame) return;
        this.accessUnits++;
        if (this.decodeFrames) this.decode(frame.data, frame.width, frame.height);
      });
    });
    this.sessionUrl = await negotiate(pc, this.endpoint);
  }

  private decode(annexB: Buffer, width: number | undefined, height: number | undefined): void {
    if (!this.decoder) {
      if (!width || !height) return;
      const args = new FfmpegCommand()
        .global({ threads: 1 })
        .input('pipe:0', { flags: 'low_delay', probesize: 32, analyzeduration: 0, f: 'h264' })
        .output('pipe:1', { f: 'yuv4mpegpipe', pix_fmt: 'yuv420p', fps_mode: 'passthrough', flush_packets: 1 })
        .toArgs();
      const decoder = spawn(...diesWithParent('ffmpeg', args));
      this.decoder = decoder;
      decoder.stderr.resume();
      decoder.stdin.on('error', () => {});
      const frameBytes = width * height * 1.5;
      const buffer = Buffer.alloc(frameBytes);
      const block = burnInBlockSize(width);
      const samples = new Uint8Array(BURN_IN_BLOCKS);
      const reader = new Y4mReader(
        frameBytes,
        () => buffer,
        (frame) => {
          const centre = Math.floor(block / 2) * width;
          for (let index = 0; index < BURN_IN_BLOCKS; index++) samples[index] = frame[centre + index * block + Math.floor(block / 2)]!;
          let lumaSum = 0;
          const top = Math.floor(height / 2) - 8;
          const left = Math.floor(width / 2) - 8;
          for (let row = 0; row < 16; row++) for (let column = 0; column < 16; column++) lumaSum += frame[(top + row) * width + left + column]!;
          this.frames.push({ code: decodeBurnIn(samples), receivedMs: this.arrivals.shift() ?? epochMs(), centerLuma: lumaSum / 256, width, height });
        },
      );
      decoder.stdout.on('data', (chunk: Buffer) => reader.push(chunk));
    }
    this.arrivals.push(epochMs());
    // A trailing access unit delimiter lets ffmpeg's parser release the frame without waiting for the next.
    this.decoder.stdin.write(Buffer.concat([annexB, Buffer.from([0, 0, 0, 1, 9, 0xf0])]));
  }

  /** The session URL the server answered with (absolute, as resolved against the endpoint followed). */
  get session(): string | undefined {
    return this.sessionUrl;
  }

  async stop(): Promise<void> {
    this.decoder?.kill('SIGKILL');
    if (this.sessionUrl) await fetch(this.sessionUrl, { method: 'DELETE' }).catch(() => undefined);
    this.sessionUrl = undefined;
    await this.pc?.close();
  }
}
