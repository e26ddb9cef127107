import { authFetch } from './page-token.js';

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
  provenance?: Record<string, unknown>;
}

export interface RenderView {
  id: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  progress: number;
  stage: string;
  result?: {
    file: string;
    duration: number;
    width: number;
    height: number;
    thumbnail: string;
    captions: string | null;
    shots: { index: number; cached: boolean; ms: number }[];
    provenance: Record<string, unknown>;
  };
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

export type ApiAnswer<T> = { ok: true; status: number; body: T } | { ok: false; status: number; code: string; message: string };

/** Calls the API with the page's token; a refusal comes back as the API's `{ error: { code, message } }`. */
export async function callApi<T>(method: string, route: string, body?: unknown): Promise<ApiAnswer<T>> {
  let response: Response;
  try {
    response = await authFetch(route, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  } catch (error) {
    return { ok: false, status: 0, code: 'unreachable', message: `the server cannot be reached (${(error as Error).message})` };
  }
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // A non-JSON answer (a proxy's error page): reported by its status below.
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    return { ok: false, status: response.status, code: error?.code ?? `http_${response.status}`, message: error?.message ?? `HTTP ${response.status}` };
  }
  return { ok: true, status: response.status, body: parsed as T };
}

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

export function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function showError(target: HTMLElement, message: string | null): void {
  target.textContent = message ?? '';
  target.hidden = !message;
}
