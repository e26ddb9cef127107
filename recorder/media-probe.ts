import { execFile } from 'node:child_process';

export interface ProbedSegment {
  /** Session seconds of the first and last packet (video or audio), from the file's own timestamps. */
  startS: number;
  endS: number;
  packets: number;
  videoCodec: string | undefined;
}

export class MediaProbeError extends Error {
  override readonly name = 'MediaProbeError';
}

const PROBE_TIMEOUT_MS = 30_000;

/** Asks ffprobe for every packet's time in a (possibly truncated) media file; rejects when it cannot read it. */
export function probeSegment(ffprobe: string, file: string): Promise<ProbedSegment> {
  const args = ['-v', 'error', '-show_entries', 'packet=pts_time,duration_time:stream=codec_type,codec_name', '-of', 'json', file];
  return new Promise((resolve, reject) => {
    execFile(ffprobe, args, { timeout: PROBE_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(new MediaProbeError(`ffprobe could not read ${file}: ${stderr.trim().split('\n').pop() ?? error.message}`));
      let parsed: { packets?: { pts_time?: string; duration_time?: string }[]; streams?: { codec_type?: string; codec_name?: string }[] };
      try {
        parsed = JSON.parse(stdout) as typeof parsed;
      } catch {
        return reject(new MediaProbeError(`ffprobe gave unreadable output for ${file}`));
      }
      let startS = Infinity;
      let endS = -Infinity;
      let packets = 0;
      for (const packet of parsed.packets ?? []) {
        const pts = Number(packet.pts_time);
        if (!Number.isFinite(pts)) continue;
        packets++;
        startS = Math.min(startS, pts);
        endS = Math.max(endS, pts + (Number(packet.duration_time) || 0));
      }
      if (packets === 0) return reject(new MediaProbeError(`${file} holds no readable packets`));
      resolve({ startS, endS, packets, videoCodec: parsed.streams?.find((stream) => stream.codec_type === 'video')?.codec_name });
    });
  });
}
