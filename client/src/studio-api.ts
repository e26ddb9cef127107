export { callApi, type ApiAnswer } from './page-api.js';
export { element, showError } from './page-elements.js';
import type { RenderResult } from '../../studio/storyboard.js';

// The studio API as the page sees it (issue 14's contract: POST /v1/video/storyboards, /v1/video/renders).

export type ShotSource = { recording_id: string; in: number; out: number } | { asset_id: string };

export interface Shot {
  index: number;
  start: number;
  duration: number;
  kind: 'clip' | 'image' | 'title';
  source?: ShotSource;
  text?: string;
  camera?: string;
  transition?: { name: string; duration: number };
  reasons: string[];
}

export interface Storyboard {
  id: string;
  prompt: string;
  style: string;
  aspect: '16:9' | '9:16' | '1:1';
  duration_s: number;
  seed: number;
  shots: Shot[];
  captions: boolean;
  music?: { track: string; gain_db: number; duck: boolean };
  provenance?: Record<string, unknown>;
}

export interface RenderView {
  id: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  progress: number;
  stage: string;
  result?: RenderResult;
  error?: unknown;
}

export interface RecordingView {
  id: string;
  title: string;
  state: string;
  startedAt: string;
  durationS: number;
}

export const CAMERA_MOVES = ['static', 'push-in', 'pull-out', 'pan-left', 'pan-right', 'follow-face'] as const;
export const TRANSITIONS = ['cut', 'fade', 'wipe', 'slide', 'zoom'] as const;

/** How a refusal reads on the page: the API's message, then its code. */
export function refusal(answer: { code: string; message: string }): string {
  return `${answer.message} (${answer.code})`;
}

/** Seconds as m:ss.s. */
export function formatSeconds(seconds: number): string {
  const whole = Math.max(0, seconds);
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${(whole - minutes * 60).toFixed(1).padStart(4, '0')}`;
}

