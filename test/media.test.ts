import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAvcDecoderConfig, parseAvcDecoderConfig } from '../server/media/avc-decoder-config.js';
import { FlvReader, type FlvVideoTag } from '../server/media/flv-reader.js';
import { MatroskaLiveWriter } from '../server/media/matroska-live-writer.js';
import { parseH264Sps } from '../server/rtp/h264-sps.js';

const dir = mkdtempSync(path.join(tmpdir(), 'livefx-media-'));
let flv: Buffer;

function readAll(chunkSize: number): FlvVideoTag[] {
  const tags: FlvVideoTag[] = [];
  const reader = new FlvReader({ onVideo: (tag) => tags.push(tag), onError: (error) => { throw error; } });
  for (let offset = 0; offset < flv.length; offset += chunkSize) reader.push(flv.subarray(offset, offset + chunkSize));
  return tags;
}

function ffprobe(file: string): { streams: { codec_name: string; width?: number; nb_read_packets?: string }[]; format: { duration?: string } } {
  const result = spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-show_streams', '-show_format', '-of', 'json', file]);
  if (result.status !== 0) throw new Error(result.stderr.toString());
  return JSON.parse(result.stdout.toString());
}

/** Opus packets of an Ogg file (pages → segments → packets; the two header packets skipped). */
function oggOpusPackets(ogg: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  let pending: Buffer[] = [];
  for (let offset = 0; offset < ogg.length; ) {
    const segments = ogg[offset + 26]!;
    const table = ogg.subarray(offset + 27, offset + 27 + segments);
    let dataOffset = offset + 27 + segments;
    for (const lacing of table) {
      pending.push(ogg.subarray(dataOffset, dataOffset + lacing));
      dataOffset += lacing;
      if (lacing < 255) {
        packets.push(Buffer.concat(pending));
        pending = [];
      }
    }
    offset = dataOffset;
  }
  return packets.slice(2);
}

beforeAll(() => {
  const file = path.join(dir, 'clip.flv');
  const result = spawnSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-frames:v', '60', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30', '-bf', '0', '-f', 'flv', file]);
  expect(result.status, result.stderr.toString()).toBe(0);
  flv = readFileSync(file);
});

describe('FlvReader', () => {
  it('reads every frame whatever the chunk boundaries', () => {
    for (const chunkSize of [1, 7, 4096, flv.length]) {
      const tags = readAll(chunkSize);
      expect(tags[0]!.avcDecoderConfig).toBeDefined();
      const frames = tags.slice(1);
      expect(frames).toHaveLength(60);
      expect(frames.filter((tag) => tag.keyframe).map((tag) => frames.indexOf(tag))).toEqual([0, 30]);
      expect(frames.slice(0, 3).map((tag) => tag.timestampMs)).toEqual([0, 33, 67]);
    }
  });

  it('gives the SPS and PPS of the sequence header', () => {
    const config = parseAvcDecoderConfig(readAll(flv.length)[0]!.avcDecoderConfig!);
    expect(config.lengthSize).toBe(4);
    expect(parseH264Sps(config.sps[0]!)).toMatchObject({ width: 640, height: 360 });
    expect(parseAvcDecoderConfig(buildAvcDecoderConfig(config.sps[0]!, config.pps[0]!))).toMatchObject({ sps: config.sps, pps: config.pps });
  });

  it('reports a stream that is not FLV', () => {
    const errors: Error[] = [];
    new FlvReader({ onVideo: () => undefined, onError: (error) => errors.push(error) }).push(Buffer.from('this is not flv at all'));
    expect(errors[0]?.message).toMatch(/not an FLV stream/);
  });
});

describe('MatroskaLiveWriter', () => {
  it('writes H.264 + Opus that ffprobe reads, that ffmpeg turns into HLS, and whose prefixes stay readable', () => {
    const ogg = path.join(dir, 'tone.ogg');
    expect(spawnSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'libopus', '-ac', '2', ogg]).status).toBe(0);
    const opus = oggOpusPackets(readFileSync(ogg));
    const tags = readAll(flv.length);
    const chunks: Buffer[] = [];
    const writer = new MatroskaLiveWriter(
      { video: { codec: 'H264', width: 640, height: 360, avcDecoderConfig: tags[0]!.avcDecoderConfig! }, audio: { codec: 'opus', sampleRate: 48000, channels: 2 } },
      (bytes) => chunks.push(bytes),
    );
    const frames = tags.slice(1);
    let audioIndex = 0;
    frames.forEach((tag, index) => {
      const videoMs = (index * 1000) / 30;
      while (audioIndex < opus.length && audioIndex * 20 <= videoMs) writer.writeAudio(opus[audioIndex]!, audioIndex++ * 20);
      writer.writeVideo(tag.avccPayload!, videoMs, tag.keyframe);
    });
    while (audioIndex < opus.length) writer.writeAudio(opus[audioIndex]!, audioIndex++ * 20);
    writer.close();
    writer.writeAudio(opus[0]!, 99_999);
    const file = path.join(dir, 'out.mkv');
    writeFileSync(file, Buffer.concat(chunks));
    const probe = ffprobe(file);
    const video = probe.streams.find((stream) => stream.codec_name === 'h264')!;
    const audio = probe.streams.find((stream) => stream.codec_name === 'opus')!;
    expect(video.width).toBe(640);
    expect(Number(video.nb_read_packets)).toBe(60);
    expect(Number(audio.nb_read_packets)).toBe(opus.length);
    // A live stream carries no duration; the last audio packet's time shows the timeline is right.
    const times = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'a', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file]).stdout.toString().trim().split('\n');
    expect(Number(times.at(-1))).toBeCloseTo(2, 0);

    const hlsDir = path.join(dir, 'hls');
    spawnSync('mkdir', ['-p', hlsDir]);
    const hls = spawnSync('ffmpeg', ['-loglevel', 'error', '-f', 'matroska', '-i', 'pipe:0', '-c:v', 'copy', '-c:a', 'aac', '-f', 'hls', '-hls_time', '1', path.join(hlsDir, 'index.m3u8')], { input: Buffer.concat(chunks) });
    expect(hls.status, hls.stderr.toString()).toBe(0);
    expect(readdirSync(hlsDir).filter((name) => name.endsWith('.ts')).length).toBeGreaterThanOrEqual(2);

    const prefix = path.join(dir, 'prefix.mkv');
    writeFileSync(prefix, Buffer.concat(chunks.slice(0, Math.floor(chunks.length / 2))));
    expect(Number(ffprobe(prefix).streams.find((stream) => stream.codec_name === 'h264')!.nb_read_packets)).toBeGreaterThan(20);
  });

  it('writes VP8 as WebM', () => {
    const ivfFile = path.join(dir, 'clip.ivf');
    expect(spawnSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-frames:v', '30', '-c:v', 'libvpx', '-g', '15', ivfFile]).status).toBe(0);
    const ivf = readFileSync(ivfFile);
    const chunks: Buffer[] = [];
    const writer = new MatroskaLiveWriter({ video: { codec: 'VP8', width: 320, height: 240 } }, (bytes) => chunks.push(bytes));
    let index = 0;
    for (let offset = 32; offset < ivf.length; index++) {
      const size = ivf.readUInt32LE(offset);
      const frame = ivf.subarray(offset + 12, offset + 12 + size);
      writer.writeVideo(frame, (index * 1000) / 30, (frame[0]! & 1) === 0);
      offset += 12 + size;
    }
    const file = path.join(dir, 'out.webm');
    writeFileSync(file, Buffer.concat(chunks));
    const probe = ffprobe(file);
    expect(probe.streams[0]).toMatchObject({ codec_name: 'vp8', width: 320, nb_read_packets: '30' });
  });
});
