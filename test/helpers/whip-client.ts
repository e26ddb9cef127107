import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { MediaStreamTrack, RtpHeader, RtpPacket, type RTCPeerConnection } from 'werift';
import { FlvReader } from '../../core/media/flv-reader.js';
import { parseAvcDecoderConfig } from '../../core/media/avc-decoder-config.js';
import { oggOpusPackets } from '../../core/media/ogg-opus-packets.js';
import { H264Packetizer } from '../../core/rtp/h264-packetizer.js';
import { FfmpegCommand } from '../../core/process/ffmpeg-command.js';
import { clientPeerConnection, h264ClientCodec, negotiate, type SdpRewrite } from './webrtc-client.js';
import { diesWithParent } from '../../core/process/dies-with-parent.js';

export interface WhipPublishOptions {
  /** e.g. http://127.0.0.1:8080/whip/<id> */
  endpoint: string;
  streamKey: string;
  width?: number;
  height?: number;
  fps?: number;
  kbps?: number;
  /** ffmpeg lavfi source; defaults to a moving test pattern. */
  source?: string;
  /** An ffmpeg lavfi audio source (e.g. `sine=frequency=440`) sent as Opus; none by default. */
  audio?: string;
  /**
   * An Ogg Opus file of 20 ms packets (e.g. generated speech for live captions), sent over and over
   * in real time as the microphone (instead of `audio`). Without either the publisher sends video only.
   */
  audioFile?: string;
  /** Rewrites the offer and answer (the fault tests route the media through a UDP relay this way). */
  sdpRewrite?: SdpRewrite;
}

/** Opus at 48 kHz, 20 ms per packet, as browsers send it. */
const AUDIO_PACKET_MS = 20;
const AUDIO_TICKS_PER_PACKET = 960;

/**
 * A WHIP publisher that is not a browser: ffmpeg encodes a test pattern in real time, and werift
 * sends it as H.264 RTP. It proves the signalling works for tools beyond the browser.
 */
export class WhipClient {
  private pc: RTCPeerConnection | undefined;
  private encoder: ChildProcessWithoutNullStreams | undefined;
  private sessionUrl: string | undefined;
  private readonly track = new MediaStreamTrack({ kind: 'video' });
  private readonly audioTrack = new MediaStreamTrack({ kind: 'audio' });
  private audioEncoder: ChildProcessWithoutNullStreams | undefined;
  private audioSocket: Socket | undefined;
  private audioPackets: Buffer[] = [];
  private audioTimer: NodeJS.Timeout | undefined;
  private readonly packetizer = new H264Packetizer(1200);
  private sequence = 0;
  private lastTimestamp = 0;
  framesSent = 0;
  audioPacketsSent = 0;
  keyframeRequests = 0;

  private readonly options: WhipPublishOptions;

  constructor(options: WhipPublishOptions) {
    this.options = { ...options };
  }

  async start(): Promise<void> {
    const pc = clientPeerConnection([h264ClientCodec()]);
    this.pc = pc;
    const transceiver = pc.addTransceiver(this.track, { direction: 'sendonly' });
    transceiver.sender.onPictureLossIndication.subscribe(() => this.keyframeRequests++);
    if (this.options.audioFile) {
      this.audioPackets = oggOpusPackets(await readFile(this.options.audioFile));
      if (this.audioPackets.length === 0) throw new Error(`${this.options.audioFile} holds no Opus packets`);
    }
    if (this.options.audio || this.options.audioFile) pc.addTransceiver(this.audioTrack, { direction: 'sendonly' });
    this.sessionUrl = await negotiate(pc, this.options.endpoint, { authorization: `Bearer ${this.options.streamKey}` }, this.options.sdpRewrite);
    await new Promise<void>((resolve, reject) => {
      // ICE (checking, connected) and the connection (DTLS on top) say which step never finished.
      const timer = setTimeout(() => reject(new Error(`publisher did not connect within 30 s: ICE ${pc.iceConnectionState}, connection ${pc.connectionState}`)), 30_000);
      if (pc.connectionState === 'connected') resolve();
      pc.connectionStateChange.subscribe((state) => {
        if (state === 'connected') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    this.startEncoder();
    if (this.options.audio) await this.startAudio(this.options.audio);
    if (this.audioPackets.length > 0) this.startAudioFile();
  }

  /** ffmpeg encodes the audio source to Opus RTP on a loopback port; each packet goes on as it comes (werift sets SSRC and payload type). */
  private async startAudio(source: string): Promise<void> {
    const socket = createSocket('udp4');
    this.audioSocket = socket;
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    // ffmpeg's RTCP comes to the same port (rtcpport): RTP only goes on (RFC 5761: RTCP types 192–223).
    socket.on('message', (packet) => {
      if (packet.length > 12 && (packet[1]! < 192 || packet[1]! > 223)) this.audioTrack.writeRtp(packet);
    });
    const args = new FfmpegCommand()
      .input(source, { re: true, f: 'lavfi' })
      .output(`rtp://127.0.0.1:${socket.address().port}?rtcpport=${socket.address().port}`, { 'c:a': 'libopus', ar: 48000, ac: 2, 'b:a': '64k', application: 'lowdelay', frame_duration: 20, f: 'rtp' })
      .toArgs();
    const encoder = spawn(...diesWithParent('ffmpeg', args));
    this.audioEncoder = encoder;
    encoder.stdout.resume();
    encoder.stderr.resume();
  }

  private stopAudio(): void {
    this.audioEncoder?.kill('SIGKILL');
    this.audioEncoder = undefined;
    this.audioSocket?.close();
    this.audioSocket = undefined;
  }

  /** Sends the audio packets on a real-time schedule, catching up after a late timer, looping the file. */
  private startAudioFile(): void {
    const startedMs = performance.now();
    this.audioTimer = setInterval(() => {
      const due = Math.floor((performance.now() - startedMs) / AUDIO_PACKET_MS);
      while (this.audioPacketsSent < due) {
        const payload = this.audioPackets[this.audioPacketsSent % this.audioPackets.length]!;
        const header = new RtpHeader({
          payloadType: 111,
          sequenceNumber: this.audioPacketsSent & 0xffff,
          timestamp: (this.audioPacketsSent * AUDIO_TICKS_PER_PACKET) >>> 0,
          marker: false,
          ssrc: 2,
        });
        this.audioTrack.writeRtp(new RtpPacket(header, payload));
        this.audioPacketsSent++;
      }
    }, AUDIO_PACKET_MS / 2);
  }

  private startEncoder(): void {
    const { width = 640, height = 360, fps = 30, kbps = 1500 } = this.options;
    const source = this.options.source ?? `testsrc2=size=${width}x${height}:rate=${fps}`;
    const args = new FfmpegCommand()
      .input(source, { re: true, f: 'lavfi' })
      .output('pipe:1', {
        'c:v': 'libx264',
        preset: 'ultrafast',
        tune: 'zerolatency',
        'profile:v': 'baseline',
        pix_fmt: 'yuv420p',
        g: fps,
        bf: 0,
        'b:v': `${kbps}k`,
        flush_packets: 1,
        f: 'flv',
      })
      .toArgs();
    const encoder = spawn(...diesWithParent('ffmpeg', args));
    this.encoder = encoder;
    encoder.stderr.resume();
    let sps: Buffer | undefined;
    let pps: Buffer | undefined;
    // The stream continues across encoder restarts: timestamps keep rising from where they were.
    const timestampBase = this.lastTimestamp + 3000;
    const reader = new FlvReader({
      onVideo: (tag) => {
        if (tag.avcDecoderConfig) {
          const config = parseAvcDecoderConfig(tag.avcDecoderConfig);
          sps = config.sps[0];
          pps = config.pps[0];
          return;
        }
        const nalUnits = tag.keyframe && sps && pps ? [sps, pps, ...tag.nalUnits] : tag.nalUnits;
        const timestamp = (timestampBase + tag.timestampMs * 90) >>> 0;
        this.lastTimestamp = timestamp;
        this.packetizer.packetize(nalUnits, (payload, marker) => {
          this.sequence = (this.sequence + 1) & 0xffff;
          const header = new RtpHeader({ payloadType: 96, sequenceNumber: this.sequence, timestamp, marker, ssrc: 1 });
          this.track.writeRtp(new RtpPacket(header, payload));
        });
        this.framesSent++;
      },
    });
    encoder.stdout.on('data', (chunk: Buffer) => reader.push(chunk));
  }

  /** Restarts the encoder at another size, as when a shared screen is resized. */
  switchResolution(width: number, height: number): void {
    this.encoder?.kill('SIGKILL');
    this.options.width = width;
    this.options.height = height;
    this.startEncoder();
  }

  /** Ends publishing the standard way: DELETE on the session URL. */
  /** The session URL the server answered with (absolute, as resolved against the endpoint followed). */
  get session(): string | undefined {
    return this.sessionUrl;
  }

  async stop(): Promise<void> {
    this.encoder?.kill('SIGKILL');
    this.stopAudio();
    clearInterval(this.audioTimer);
    if (this.sessionUrl) await fetch(this.sessionUrl, { method: 'DELETE' }).catch(() => undefined);
    this.sessionUrl = undefined;
    await this.pc?.close();
  }

  /** Stops sending without saying goodbye, like a crashed publisher. */
  async vanish(): Promise<void> {
    this.encoder?.kill('SIGKILL');
    this.stopAudio();
    clearInterval(this.audioTimer);
    await this.pc?.close();
  }
}
