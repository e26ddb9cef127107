// The live signals of a media file, computed offline with the pipeline's own code (SceneChangeMeter on
// each decoded frame's Y plane, levelDbfs per 100 ms of 8 kHz mono audio, batched by SignalBatch), as
// the `signal` events a live recording of that media would have stored. For benchmarks and tests.
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { levelDbfs, SCENE_CUT_SCORE, SIGNAL_SLOT_MS, SignalBatch, SILENT_DBFS } from '../../server/pipeline/live-signals.js';
import type { LiveSignalBatch } from '../../server/pipeline/pipeline-messages.js';
import { SceneChangeMeter } from '../../server/pipeline/scene-change-meter.js';

export interface MediaSignalEvents {
  events: { t: number; type: 'signal'; payload: Record<string, unknown> }[];
  frames: number;
  /** Mean time of SceneChangeMeter.measure plus batching, per frame (µs). */
  videoUsPerFrame: number;
  /** Mean time of levelDbfs plus batching, per 100 ms of audio (µs). */
  audioUsPerSlot: number;
}

/** Reads exactly `size`-byte records from a stream into one reused buffer. */
async function forEachRecord(stream: Readable, size: number, onRecord: (record: Buffer) => void): Promise<void> {
  const record = Buffer.alloc(size);
  let filled = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(size - filled, chunk.length - offset);
      chunk.copy(record, filled, offset, offset + take);
      filled += take;
      offset += take;
      if (filled === size) {
        filled = 0;
        onRecord(record);
      }
    }
  }
}

function decode(ffmpeg: string, args: string[]): { stdout: Readable; done: Promise<void> } {
  const child = spawn(ffmpeg, ['-hide_banner', '-v', 'error', '-nostdin', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg ${args.join(' ')} exited with ${code}: ${stderr.trim()}`))));
  });
  return { stdout: child.stdout, done };
}

/** Signal events of `file` (times in seconds of the file), as if it had been streamed live at its own resolution. */
export async function mediaSignalEvents(file: string, options: { width: number; height: number; fps: number; hasAudio: boolean; durationS?: number; ffmpeg?: string }): Promise<MediaSignalEvents> {
  const ffmpeg = options.ffmpeg ?? 'ffmpeg';
  const batches: LiveSignalBatch[] = [];
  const onBatch = (batch: LiveSignalBatch): void => void batches.push(batch);
  const meter = new SceneChangeMeter();
  const video = new SignalBatch({ source: 'video', empty: -1, flush: onBatch });
  const audio = new SignalBatch({ source: 'audio', empty: SILENT_DBFS, flush: onBatch });
  let frames = 0;
  let videoMs = 0;
  let slots = 0;
  let audioMs = 0;
  const { width, height } = options;
  const limit = options.durationS !== undefined ? ['-t', String(options.durationS)] : [];
  const videoDecode = decode(ffmpeg, ['-i', file, ...limit, '-an', '-vf', `scale=${width}:${height}`, '-pix_fmt', 'gray', '-f', 'rawvideo', 'pipe:1']);
  const reading: Promise<void>[] = [
    forEachRecord(videoDecode.stdout, width * height, (y) => {
      const atMs = (frames * 1000) / options.fps;
      const started = performance.now();
      meter.measure(y, width, height);
      video.add(atMs, meter.motion);
      if (meter.score >= SCENE_CUT_SCORE) video.cut(atMs, Math.round(meter.score * 100) / 100);
      videoMs += performance.now() - started;
      frames++;
    }),
    videoDecode.done,
  ];
  if (options.hasAudio) {
    const sampleRate = 8000;
    const slotSamples = (sampleRate * SIGNAL_SLOT_MS) / 1000;
    const samples = new Int16Array(slotSamples);
    const audioDecode = decode(ffmpeg, ['-i', file, ...limit, '-vn', '-ac', '1', '-ar', String(sampleRate), '-f', 's16le', 'pipe:1']);
    reading.push(
      forEachRecord(audioDecode.stdout, slotSamples * 2, (pcm) => {
        const started = performance.now();
        for (let index = 0; index < slotSamples; index++) samples[index] = pcm.readInt16LE(index * 2);
        audio.add(slots * SIGNAL_SLOT_MS, levelDbfs(samples));
        audioMs += performance.now() - started;
        slots++;
      }),
      audioDecode.done,
    );
  }
  await Promise.all(reading);
  video.post(Number.NaN);
  audio.post(Number.NaN);
  const events = batches
    .map((batch) => {
      const t = batch.startMs / 1000;
      const payload: Record<string, unknown> = { source: batch.source, slot: batch.slotMs / 1000, values: batch.values };
      if (batch.cuts) payload.cuts = batch.cuts.map(([atMs, score]) => [Math.round(atMs - batch.startMs) / 1000, score]);
      return { t: Math.round(t * 1000) / 1000, type: 'signal' as const, payload };
    })
    .sort((a, b) => a.t - b.t);
  return { events, frames, videoUsPerFrame: frames > 0 ? (videoMs * 1000) / frames : 0, audioUsPerSlot: slots > 0 ? (audioMs * 1000) / slots : 0 };
}
