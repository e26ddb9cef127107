import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlvReader, type FlvVideoTag } from '../core/media/flv-reader.js';
import { MatroskaLiveWriter, type MatroskaLiveWriterOptions } from '../core/media/matroska-live-writer.js';

const run = promisify(execFile);

let directory: string;
let avcDecoderConfig: Buffer;
/** 60 H.264 access units at 30 fps, keyframes at 0 and 30. */
let h264Frames: FlvVideoTag[];
let stereoOpus: OpusPacket[];
let monoOpus: OpusPacket[];
/** 30 VP8 frames at 30 fps, keyframes at 0 and 15. */
let vp8Frames: { data: Buffer; keyframe: boolean }[];

interface OpusPacket {
  data: Buffer;
  timestampMs: number;
}

/** What one sink call carried, to cut the output at known block boundaries. */
interface SinkCall {
  bytes: Buffer;
  kind: 'header' | 'video' | 'audio';
}

beforeAll(async () => {
  directory = mkdtempSync(path.join(tmpdir(), 'livefx-matroska-'));
  const flvFile = path.join(directory, 'video.flv');
  const stereoFile = path.join(directory, 'stereo.ogg');
  const monoFile = path.join(directory, 'mono.ogg');
  const ivfFile = path.join(directory, 'video.ivf');
  const ffmpeg = (args: string[]) => run('ffmpeg', ['-v', 'error', '-y', ...args]);
  const sine = ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'libopus', '-b:a', '64k'];
  await Promise.all([
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-frames:v', '60', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30', '-bf', '0', '-f', 'flv', flvFile]),
    ffmpeg([...sine, '-ac', '2', '-f', 'ogg', stereoFile]),
    ffmpeg([...sine, '-ac', '1', '-f', 'ogg', monoFile]),
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-frames:v', '30', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', '15', '-f', 'ivf', ivfFile]),
  ]);
  const tags: FlvVideoTag[] = [];
  new FlvReader({ onVideo: (tag) => tags.push(tag) }).push(readFileSync(flvFile));
  avcDecoderConfig = tags[0]!.avcDecoderConfig!;
  h264Frames = tags.slice(1);
  stereoOpus = oggOpusPackets(readFileSync(stereoFile));
  monoOpus = oggOpusPackets(readFileSync(monoFile));
  vp8Frames = ivfFrames(readFileSync(ivfFile));
});

afterAll(() => {
  if (directory) rmSync(directory, { recursive: true, force: true });
});

/** Samples at 48 kHz in one Opus packet, from its TOC byte (RFC 6716 section 3.1). */
function opusSamples(packet: Buffer): number {
  const config = packet[0]! >> 3;
  const frameMs = config < 12 ? [10, 20, 40, 60][config % 4]! : config < 16 ? [10, 20][config % 2]! : [2.5, 5, 10, 20][config % 4]!;
  const code = packet[0]! & 3;
  const frames = code === 0 ? 1 : code < 3 ? 2 : packet[1]! & 0x3f;
  return frames * frameMs * 48;
}

/** Opus packets of an Ogg Opus file (RFC 7845): pages to lacing segments to packets, headers dropped. */
function oggOpusPackets(ogg: Buffer): OpusPacket[] {
  const packets: Buffer[] = [];
  let pending: Buffer[] = [];
  for (let offset = 0; offset < ogg.length; ) {
    expect(ogg.toString('latin1', offset, offset + 4)).toBe('OggS');
    const segmentCount = ogg[offset + 26]!;
    let dataOffset = offset + 27 + segmentCount;
    for (let index = 0; index < segmentCount; index++) {
      const lacing = ogg[offset + 27 + index]!;
      pending.push(ogg.subarray(dataOffset, dataOffset + lacing));
      dataOffset += lacing;
      // A lacing value below 255 ends a packet; 255 means it continues.
      if (lacing < 255) {
        packets.push(Buffer.concat(pending));
        pending = [];
      }
    }
    offset = dataOffset;
  }
  expect(packets[0]!.toString('latin1', 0, 8)).toBe('OpusHead');
  expect(packets[1]!.toString('latin1', 0, 8)).toBe('OpusTags');
  let samples = 0;
  return packets.slice(2).map((data) => {
    const packet = { data, timestampMs: samples / 48 };
    samples += opusSamples(data);
    return packet;
  });
}

function ivfFrames(ivf: Buffer): { data: Buffer; keyframe: boolean }[] {
  expect(ivf.toString('latin1', 0, 4)).toBe('DKIF');
  const frames: { data: Buffer; keyframe: boolean }[] = [];
  for (let offset = ivf.readUInt16LE(6); offset < ivf.length; ) {
    const size = ivf.readUInt32LE(offset);
    const data = ivf.subarray(offset + 12, offset + 12 + size);
    // VP8 frame tag: bit 0 clear means a keyframe (RFC 6386 section 9.1).
    frames.push({ data, keyframe: (data[0]! & 1) === 0 });
    offset += 12 + size;
  }
  return frames;
}

function frameMs(index: number): number {
  return (index * 1000) / 30;
}

/** Writes video and audio interleaved by time, as the live pipeline does; records each sink call. */
function writeInterleaved(
  options: MatroskaLiveWriterOptions,
  video: { data: Buffer; keyframe: boolean }[],
  audio: OpusPacket[],
): SinkCall[] {
  const calls: SinkCall[] = [];
  let kind: SinkCall['kind'] = 'header';
  const writer = new MatroskaLiveWriter(options, (bytes) => {
    calls.push({ bytes, kind: calls.length === 0 ? 'header' : kind });
  });
  let audioIndex = 0;
  const writeAudioUntil = (ms: number) => {
    kind = 'audio';
    while (audioIndex < audio.length && audio[audioIndex]!.timestampMs <= ms) {
      writer.writeAudio(audio[audioIndex]!.data, audio[audioIndex]!.timestampMs);
      audioIndex++;
    }
  };
  video.forEach((frame, index) => {
    writeAudioUntil(frameMs(index));
    kind = 'video';
    writer.writeVideo(frame.data, frameMs(index), frame.keyframe);
  });
  writeAudioUntil(Number.POSITIVE_INFINITY);
  writer.close();
  return calls;
}

interface Probe {
  streams: { codec_name: string; codec_type: string; width?: number; height?: number; channels?: number; sample_rate?: string; nb_read_packets?: string }[];
  format: { format_name: string; duration?: string };
  packets: { codec_type: string; pts_time: string; duration_time?: string; flags: string }[];
}

function ffprobe(file: string): Probe & { errors: string } {
  const result = spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-show_streams', '-show_format', '-show_packets', '-of', 'json', file]);
  expect(result.status, result.stderr.toString()).toBe(0);
  return { ...(JSON.parse(result.stdout.toString()) as Probe), errors: result.stderr.toString().trim() };
}

function h264Input(): { data: Buffer; keyframe: boolean }[] {
  return h264Frames.map((tag) => ({ data: tag.avccPayload!, keyframe: tag.keyframe }));
}

function h264Options(): MatroskaLiveWriterOptions {
  return {
    video: { codec: 'H264', width: 640, height: 360, avcDecoderConfig },
    audio: { codec: 'opus', sampleRate: 48000, channels: 2 },
    title: 'test stream',
  };
}

const ElementId = { Segment: 0x18538067, Cluster: 0x1f43b675, Timestamp: 0xe7, SimpleBlock: 0xa3, DocType: 0x4282, Ebml: 0x1a45dfa3, Tracks: 0x1654ae6b } as const;

interface ParsedBlock {
  track: number;
  relativeMs: number;
  keyframe: boolean;
  size: number;
}

/** Reads an EBML variable-size integer; `keepMarker` for ids. Unknown sizes come back as -1. */
function readVariableInteger(bytes: Buffer, offset: number, keepMarker: boolean): { value: number; length: number } {
  const first = bytes[offset]!;
  let length = 1;
  while (length <= 8 && !(first & (0x80 >> (length - 1)))) length++;
  expect(length, `bad EBML integer at ${offset}`).toBeLessThanOrEqual(8);
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === (0xff >> length);
  for (let index = 1; index < length; index++) {
    value = value * 256 + bytes[offset + index]!;
    allOnes &&= bytes[offset + index] === 0xff;
  }
  return { value: !keepMarker && allOnes ? -1 : value, length };
}

/**
 * A minimal Matroska walker for the writer's own output: enters the Segment and every Cluster (both of
 * unknown size) and reads the elements in them; throws on anything truncated.
 */
function parseMatroska(bytes: Buffer): { docType: string; headerEnd: number; clusters: { timestampMs: number; blocks: ParsedBlock[] }[] } {
  let offset = 0;
  let docType = '';
  let headerEnd = 0;
  const clusters: { timestampMs: number; blocks: ParsedBlock[] }[] = [];
  while (offset < bytes.length) {
    const id = readVariableInteger(bytes, offset, true);
    const size = readVariableInteger(bytes, offset + id.length, false);
    const bodyStart = offset + id.length + size.length;
    if (id.value === ElementId.Segment || id.value === ElementId.Cluster) {
      expect(size.value).toBe(-1);
      if (id.value === ElementId.Cluster) clusters.push({ timestampMs: -1, blocks: [] });
      offset = bodyStart;
      continue;
    }
    expect(size.value).toBeGreaterThanOrEqual(0);
    const bodyEnd = bodyStart + size.value;
    expect(bodyEnd, `element 0x${id.value.toString(16)} at ${offset} is truncated`).toBeLessThanOrEqual(bytes.length);
    const body = bytes.subarray(bodyStart, bodyEnd);
    if (id.value === ElementId.Ebml) {
      const docTypeAt = body.indexOf(Buffer.from([0x42, 0x82]));
      docType = body.toString('latin1', docTypeAt + 3, docTypeAt + 3 + body[docTypeAt + 2]! - 0x80);
    } else if (id.value === ElementId.Tracks) {
      headerEnd = bodyEnd;
    } else if (id.value === ElementId.Timestamp) {
      clusters.at(-1)!.timestampMs = body.readUIntBE(0, body.length);
    } else if (id.value === ElementId.SimpleBlock) {
      const track = readVariableInteger(body, 0, false);
      clusters.at(-1)!.blocks.push({
        track: track.value,
        relativeMs: body.readInt16BE(track.length),
        keyframe: (body[track.length + 2]! & 0x80) !== 0,
        size: body.length - track.length - 3,
      });
    }
    offset = bodyEnd;
  }
  return { docType, headerEnd, clusters };
}

/** Absolute block timestamps per track, in writing order. */
function blockTimes(clusters: { timestampMs: number; blocks: ParsedBlock[] }[], track: number): number[] {
  return clusters.flatMap((cluster) => cluster.blocks.filter((block) => block.track === track).map((block) => cluster.timestampMs + block.relativeMs));
}

describe('MatroskaLiveWriter with ffmpeg', () => {
  it('writes H.264 + Opus that ffprobe reads with every packet at its time', () => {
    const calls = writeInterleaved(h264Options(), h264Input(), stereoOpus);
    const file = path.join(directory, 'h264-opus.mkv');
    writeFileSync(file, Buffer.concat(calls.map((call) => call.bytes)));
    const probe = ffprobe(file);
    expect(probe.errors).toBe('');
    expect(probe.format.format_name).toMatch(/matroska/);
    const video = probe.streams.find((stream) => stream.codec_type === 'video')!;
    const audio = probe.streams.find((stream) => stream.codec_type === 'audio')!;
    expect(video).toMatchObject({ codec_name: 'h264', width: 640, height: 360, nb_read_packets: '60' });
    expect(audio).toMatchObject({ codec_name: 'opus', channels: 2, sample_rate: '48000', nb_read_packets: String(stereoOpus.length) });
    // A live stream has no Duration element; the packets span the 2 s instead.
    expect(probe.format.duration).toBeUndefined();
    const end = Math.max(...probe.packets.map((packet) => Number(packet.pts_time) + Number(packet.duration_time ?? 0)));
    expect(end).toBeCloseTo(2, 1);

    const videoPackets = probe.packets.filter((packet) => packet.codec_type === 'video');
    expect(videoPackets.map((packet) => Math.round(Number(packet.pts_time) * 1000))).toEqual(h264Frames.map((_, index) => Math.round(frameMs(index))));
    expect(videoPackets.flatMap((packet, index) => (packet.flags.startsWith('K') ? [index] : []))).toEqual([0, 30]);
    const audioPackets = probe.packets.filter((packet) => packet.codec_type === 'audio');
    // CodecDelay (the Opus pre-skip, 6.5 ms) moves audio earlier; the last packet still ends near 2 s.
    const last = audioPackets.at(-1)!;
    expect(Number(last.pts_time) + Number(last.duration_time ?? 0)).toBeCloseTo(2, 1);
  });

  it('feeds ffmpeg HLS through a pipe, as production does', async () => {
    const calls = writeInterleaved(h264Options(), h264Input(), stereoOpus);
    const hlsDirectory = path.join(directory, 'hls');
    mkdirSync(hlsDirectory);
    const child = spawn('ffmpeg', [
      '-v', 'error', '-f', 'matroska', '-i', 'pipe:0', '-c:v', 'copy', '-c:a', 'aac',
      '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_segment_filename', path.join(hlsDirectory, 'segment%d.ts'), path.join(hlsDirectory, 'index.m3u8'),
    ]);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // One pipe write per sink call, the way the worker forwards them.
    for (const call of calls) child.stdin.write(call.bytes);
    child.stdin.end();
    expect(await exited, stderr).toBe(0);
    expect(stderr).toBe('');
    const playlist = readFileSync(path.join(hlsDirectory, 'index.m3u8'), 'utf8');
    expect(playlist).toMatch(/^#EXTM3U/);
    expect(playlist).toMatch(/#EXT-X-ENDLIST/);
    const segments = readdirSync(hlsDirectory).filter((name) => name.endsWith('.ts'));
    // Keyframes at 0 and 1 s with 1 s segments: two segments, each starting on a keyframe.
    expect(segments.sort()).toEqual(['segment0.ts', 'segment1.ts']);
    expect(playlist.match(/#EXTINF/g)).toHaveLength(2);
    for (const segment of segments) expect(statSync(path.join(hlsDirectory, segment)).size).toBeGreaterThan(10_000);
    const firstSegment = ffprobe(path.join(hlsDirectory, 'segment0.ts'));
    expect(firstSegment.streams.map((stream) => stream.codec_name).sort()).toEqual(['aac', 'h264']);
  });

  it('leaves a readable file when cut after any SimpleBlock', () => {
    const calls = writeInterleaved(h264Options(), h264Input(), stereoOpus);
    expect(calls[0]!.kind).toBe('header');
    // After the first block, one in a GOP, the cluster's first block, its last, and a last-but-one cut.
    const firstClusterStart = calls.findIndex((call, index) => index > 1 && call.bytes.readUInt32BE(0) === ElementId.Cluster);
    const cuts = [2, 17, firstClusterStart, firstClusterStart + 1, calls.length - 1];
    for (const cut of cuts) {
      const prefix = calls.slice(0, cut);
      const file = path.join(directory, `prefix-${cut}.mkv`);
      writeFileSync(file, Buffer.concat(prefix.map((call) => call.bytes)));
      const probe = ffprobe(file);
      // ffprobe says N/A rather than 0 for a stream with no packets yet.
      const count = (type: string) => Number(probe.streams.find((stream) => stream.codec_type === type)!.nb_read_packets ?? 0) || 0;
      expect([cut, count('video'), count('audio')]).toEqual([cut, prefix.filter((call) => call.kind === 'video').length, prefix.filter((call) => call.kind === 'audio').length]);
    }
  });

  it('writes VP8 + mono Opus as WebM that ffprobe reads', () => {
    const calls = writeInterleaved(
      { video: { codec: 'VP8', width: 320, height: 240 }, audio: { codec: 'opus', sampleRate: 48000, channels: 1 } },
      vp8Frames,
      monoOpus.filter((packet) => packet.timestampMs < 1000),
    );
    const bytes = Buffer.concat(calls.map((call) => call.bytes));
    expect(parseMatroska(bytes).docType).toBe('webm');
    const file = path.join(directory, 'vp8-opus.webm');
    writeFileSync(file, bytes);
    const probe = ffprobe(file);
    expect(probe.errors).toBe('');
    expect(probe.streams.find((stream) => stream.codec_type === 'video')).toMatchObject({ codec_name: 'vp8', width: 320, height: 240, nb_read_packets: '30' });
    expect(probe.streams.find((stream) => stream.codec_type === 'audio')).toMatchObject({
      codec_name: 'opus',
      channels: 1,
      nb_read_packets: String(monoOpus.filter((packet) => packet.timestampMs < 1000).length),
    });
    const keyframes = probe.packets.filter((packet) => packet.codec_type === 'video').flatMap((packet, index) => (packet.flags.startsWith('K') ? [index] : []));
    expect(keyframes).toEqual(vp8Frames.flatMap((frame, index) => (frame.keyframe ? [index] : [])));
  });

  it('places audio that lags the video keyframe before the cluster start, and ffprobe keeps its time', () => {
    const calls: Buffer[] = [];
    const writer = new MatroskaLiveWriter(h264Options(), (bytes) => calls.push(bytes));
    writer.writeVideo(h264Frames[0]!.avccPayload!, 0, true);
    writer.writeAudio(stereoOpus[0]!.data, 0);
    writer.writeVideo(h264Frames[30]!.avccPayload!, 1000, true);
    writer.writeAudio(stereoOpus[1]!.data, 990);
    writer.writeAudio(stereoOpus[2]!.data, 1010);
    const bytes = Buffer.concat(calls);
    const { clusters } = parseMatroska(bytes);
    expect(clusters.map((cluster) => cluster.timestampMs)).toEqual([0, 1000]);
    expect(clusters[1]!.blocks.map((block) => block.relativeMs)).toEqual([0, -10, 10]);
    const file = path.join(directory, 'lagging-audio.mkv');
    writeFileSync(file, bytes);
    const audioTimes = ffprobe(file).packets.filter((packet) => packet.codec_type === 'audio').map((packet) => Number(packet.pts_time));
    // Each minus the 6.5 ms CodecDelay, which ffmpeg rounds to 7 ms in the 1 ms track time base.
    expect(audioTimes).toEqual([-0.007, 0.983, 1.003]);
  });
});

describe('MatroskaLiveWriter output structure', () => {
  it('writes nothing before the first frame, then the header, then one whole SimpleBlock per sink call', () => {
    const calls: Buffer[] = [];
    const writer = new MatroskaLiveWriter(h264Options(), (bytes) => calls.push(bytes));
    expect(calls).toEqual([]);
    writer.writeAudio(stereoOpus[0]!.data, 0);
    writer.writeVideo(h264Frames[0]!.avccPayload!, 0, true);
    writer.writeVideo(h264Frames[1]!.avccPayload!, 33, false);
    expect(calls).toHaveLength(4);
    const header = parseMatroska(calls[0]!);
    expect(header).toMatchObject({ docType: 'matroska', headerEnd: calls[0]!.length, clusters: [] });
    // Only the first block opens a cluster; each later call is exactly one SimpleBlock.
    expect(calls[1]!.readUInt32BE(0)).toBe(ElementId.Cluster);
    for (const call of calls.slice(2)) {
      expect(call[0]).toBe(ElementId.SimpleBlock);
      const size = readVariableInteger(call, 1, false);
      expect(1 + size.length + size.value).toBe(call.length);
    }
    const { clusters } = parseMatroska(Buffer.concat(calls));
    expect(clusters).toEqual([
      {
        timestampMs: 0,
        blocks: [
          { track: 2, relativeMs: 0, keyframe: true, size: stereoOpus[0]!.data.length },
          { track: 1, relativeMs: 0, keyframe: true, size: h264Frames[0]!.avccPayload!.length },
          { track: 1, relativeMs: 33, keyframe: false, size: h264Frames[1]!.avccPayload!.length },
        ],
      },
    ]);
  });

  it('starts a cluster at each video keyframe', () => {
    const calls = writeInterleaved(h264Options(), h264Input(), stereoOpus);
    const { clusters } = parseMatroska(Buffer.concat(calls.map((call) => call.bytes)));
    expect(clusters.map((cluster) => cluster.timestampMs)).toEqual([0, 1000]);
    for (const cluster of clusters) expect(cluster.blocks.find((block) => block.track === 1)?.keyframe).toBe(true);
    expect(blockTimes(clusters, 1)).toEqual(h264Frames.map((_, index) => Math.round(frameMs(index))));
    expect(blockTimes(clusters, 2)).toEqual(stereoOpus.map((packet) => Math.round(packet.timestampMs)));
    expect(clusters.flatMap((cluster) => cluster.blocks).filter((block) => block.track === 2).every((block) => block.keyframe)).toBe(true);
  });

  it('starts a cluster every 5 s without keyframes and when the relative time would overflow 16 bits', () => {
    const audioOnly: Buffer[] = [];
    const audioWriter = new MatroskaLiveWriter({ audio: { codec: 'opus', sampleRate: 48000, channels: 2 } }, (bytes) => audioOnly.push(bytes));
    for (let ms = 0; ms < 12_000; ms += 20) audioWriter.writeAudio(stereoOpus[0]!.data, ms);
    const audio = parseMatroska(Buffer.concat(audioOnly));
    expect(audio.docType).toBe('webm');
    expect(audio.clusters.map((cluster) => cluster.timestampMs)).toEqual([0, 5000, 10_000]);

    const gap: Buffer[] = [];
    const videoWriter = new MatroskaLiveWriter({ video: { codec: 'VP8', width: 320, height: 240 } }, (bytes) => gap.push(bytes));
    videoWriter.writeVideo(vp8Frames[0]!.data, 0, true);
    videoWriter.writeVideo(vp8Frames[1]!.data, 4000, false);
    videoWriter.writeVideo(vp8Frames[2]!.data, 40_000, false);
    videoWriter.writeVideo(vp8Frames[3]!.data, 40_033, false);
    const video = parseMatroska(Buffer.concat(gap));
    expect(video.clusters.map((cluster) => [cluster.timestampMs, cluster.blocks.map((block) => block.relativeMs)])).toEqual([
      [0, [0, 4000]],
      [40_000, [0, 33]],
    ]);
  });

  it('clamps negative and out-of-order timestamps so each track stays monotonic', () => {
    const calls: Buffer[] = [];
    const writer = new MatroskaLiveWriter(h264Options(), (bytes) => calls.push(bytes));
    const frame = h264Frames[1]!.avccPayload!;
    for (const ms of [-50, 40, 20.4, -10, 80.6, Number.NaN, 100]) writer.writeVideo(frame, ms, false);
    for (const ms of [-5, 60, 30]) writer.writeAudio(stereoOpus[0]!.data, ms);
    const { clusters } = parseMatroska(Buffer.concat(calls));
    expect(blockTimes(clusters, 1)).toEqual([0, 40, 40, 40, 81, 81, 100]);
    expect(blockTimes(clusters, 2)).toEqual([0, 60, 60]);
  });

  it('ignores writes after close, and close twice', () => {
    const calls: Buffer[] = [];
    const writer = new MatroskaLiveWriter({ audio: { codec: 'opus', sampleRate: 48000, channels: 1 } }, (bytes) => calls.push(bytes));
    writer.writeAudio(monoOpus[0]!.data, 0);
    writer.close();
    writer.close();
    writer.writeAudio(monoOpus[1]!.data, 20);
    expect(calls).toHaveLength(2);
  });

  it('refuses a stream without tracks and a frame for a track it does not have', () => {
    expect(() => new MatroskaLiveWriter({}, () => undefined)).toThrow(/needs a video track/);
    const writer = new MatroskaLiveWriter({ audio: { codec: 'opus', sampleRate: 48000, channels: 2 } }, () => undefined);
    expect(() => writer.writeVideo(Buffer.alloc(10), 0, true)).toThrow(/without a video track/);
  });
});
