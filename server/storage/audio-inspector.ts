import { ProcessRunner } from '../../core/process/process-runner.js';
import type { AssetInspection } from './asset-inspector.js';

/** Shorter than this is no music bed (a click, an empty file with a header). */
const MIN_DURATION_S = 0.5;
/** ffprobe reads headers and a little of the stream: a few seconds even for a large file. */
const PROBE_TIMEOUT_MS = 30_000;

interface ProbeOutput {
  streams?: { codec_type?: string; codec_name?: string; sample_rate?: string; channels?: number }[];
  format?: { duration?: string; format_name?: string };
}

/**
 * Checks an uploaded music track the way the studio's mixer will open it: ffprobe must find an audio
 * stream and a duration (a child process, so the event loop does no decoding).
 */
export class AudioInspector {
  private readonly runner: ProcessRunner;

  constructor(options: { ffprobe: string }) {
    this.runner = new ProcessRunner({ ffprobe: options.ffprobe, label: 'music upload' });
  }

  async inspect(file: string): Promise<AssetInspection> {
    let output: ProbeOutput;
    try {
      const text = await this.runner.probe(['-show_entries', 'stream=codec_type,codec_name,sample_rate,channels:format=duration,format_name', '-of', 'json', file], AbortSignal.timeout(PROBE_TIMEOUT_MS), { stage: 'inspect' });
      output = JSON.parse(text) as ProbeOutput;
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n').slice(-1)[0]! : String(error);
      return { ok: false, error: `ffprobe cannot read it (${reason.slice(0, 300)})` };
    }
    const audio = output.streams?.find((stream) => stream.codec_type === 'audio');
    if (!audio) return { ok: false, error: 'it has no audio stream' };
    const duration = Number(output.format?.duration);
    if (!Number.isFinite(duration) || duration < MIN_DURATION_S) return { ok: false, error: `it lasts ${Number.isFinite(duration) ? `${duration.toFixed(2)} s` : 'an unknown time'}; a track must last at least ${MIN_DURATION_S} s` };
    return { ok: true, details: { duration: Math.round(duration * 1000) / 1000, codec: audio.codec_name ?? 'unknown', channels: audio.channels ?? 0, sample_rate: Number(audio.sample_rate ?? 0) } };
  }
}
