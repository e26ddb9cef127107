import type { RecordingEvent } from '../../recorder/recording-catalog.js';
import { round3 } from './media-analyzer.js';

/** Motion (percent of full scale on the 64×36 luma grid) below this is a still picture, like `freezedetect=n=0.003`. */
export const STILL_MOTION = 0.3;
/** A still picture counts after this long (as `freezedetect=d=1`). */
const STILL_MIN_S = 1;
/** Audio below this level is silence, for at least SILENCE_MIN_S (as `silencedetect=n=-45dB:d=0.8`). */
export const SILENCE_DBFS = -45;
const SILENCE_MIN_S = 0.8;
/** Cut candidates closer than this are one cut (the highest score wins). */
const CUT_MERGE_S = 0.5;

interface SignalPayload {
  source: 'video' | 'audio';
  slot: number;
  values: number[];
  cuts?: [number, number][];
}

/** What the live `signal` events of a recording say; a part is null when no events of its source were stored. */
export interface LiveSignalAnalysis {
  video: { sceneCuts: { t: number; score: number }[]; stills: [number, number][] } | null;
  audio: { silences: [number, number][] } | null;
}

function isSignal(payload: Record<string, unknown>): payload is Record<string, unknown> & SignalPayload {
  return (payload.source === 'video' || payload.source === 'audio') && typeof payload.slot === 'number' && Array.isArray(payload.values);
}

/**
 * Scene cuts, still picture and silence from the `signal` events a live recording stored (see
 * server/pipeline/live-signals.ts), on the same thresholds as the ffmpeg pass of MediaAnalyzer, so a
 * live recording needs no decode. `durationS` closes a run still open at the end.
 */
export function liveSignalAnalysis(events: readonly RecordingEvent[], durationS: number): LiveSignalAnalysis {
  const video: { t: number; payload: SignalPayload }[] = [];
  const audio: { t: number; payload: SignalPayload }[] = [];
  for (const event of events) {
    if (event.type !== 'signal' || !isSignal(event.payload)) continue;
    (event.payload.source === 'video' ? video : audio).push({ t: event.t, payload: event.payload });
  }
  return {
    video: video.length > 0 ? { sceneCuts: sceneCuts(video), stills: runs(video, (value) => value >= 0 && value < STILL_MOTION, STILL_MIN_S, durationS, true) } : null,
    audio: audio.length > 0 ? { silences: runs(audio, (value) => value < SILENCE_DBFS, SILENCE_MIN_S, durationS, false) } : null,
  };
}

function sceneCuts(batches: readonly { t: number; payload: SignalPayload }[]): { t: number; score: number }[] {
  const cuts: { t: number; score: number }[] = [];
  for (const { t, payload } of batches) for (const [offset, score] of payload.cuts ?? []) cuts.push({ t: round3(t + offset), score });
  cuts.sort((a, b) => a.t - b.t);
  const merged: { t: number; score: number }[] = [];
  for (const cut of cuts) {
    const last = merged[merged.length - 1];
    if (last && cut.t - last.t < CUT_MERGE_S) {
      if (cut.score > last.score) Object.assign(last, cut);
    } else merged.push({ ...cut });
  }
  return merged;
}

/** Stretches where `inside` holds slot after slot for at least `minS`; `keepThroughEmpty`: a -1 slot (no frame) continues the current state. */
function runs(batches: readonly { t: number; payload: SignalPayload }[], inside: (value: number) => boolean, minS: number, durationS: number, keepThroughEmpty: boolean): [number, number][] {
  const sorted = [...batches].sort((a, b) => a.t - b.t);
  const found: [number, number][] = [];
  let start: number | undefined;
  let lastEnd = 0;
  const close = (end: number): void => {
    if (start !== undefined && end - start >= minS) found.push([round3(start), round3(end)]);
    start = undefined;
  };
  for (const { t, payload } of sorted) {
    // A gap between batches (no frames, a restart) ends a run.
    if (start !== undefined && t - lastEnd > payload.slot * 1.5) close(lastEnd);
    payload.values.forEach((value, index) => {
      const slotStart = t + index * payload.slot;
      if (keepThroughEmpty && value < 0) return;
      if (inside(value)) start ??= slotStart;
      else close(slotStart);
    });
    lastEnd = t + payload.values.length * payload.slot;
  }
  close(Math.min(lastEnd, durationS));
  return found;
}
