import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { adminFetch } from './helpers/livefx-process.js';
import { runFfmpeg } from './helpers/ffmpeg-fixtures.js';

export interface StudioRecording {
  id: string;
  title: string;
  durationS: number;
}

/** What the shows say and when: the planner finds "garden" and "weekend plans" in the transcript. */
const SHOWS = [
  { title: 'Garden hour', pattern: 'testsrc2', words: ['welcome', 'to', 'the', 'garden', 'hour'], chatAt: 6 },
  { title: 'Weekend plans', pattern: 'smptebars', words: ['our', 'weekend', 'plans', 'are', 'here'], chatAt: 9 },
] as const;
export const SHOW_S = 16;

/** The events of a show: transcript words early on, then a burst of chat from distinct people and reactions. */
function showEvents(show: (typeof SHOWS)[number]): { events: Record<string, unknown>[] } {
  const events: Record<string, unknown>[] = [];
  show.words.forEach((word, index) => events.push({ t: 1 + index * 0.5, type: 'transcript-word', word, end: 1.4 + index * 0.5 }));
  for (let person = 0; person < 12; person++) events.push({ t: show.chatAt + person * 0.2, type: 'chat', user: `viewer${person}`, text: `${show.words[3]} is great` });
  for (let reaction = 0; reaction < 8; reaction++) events.push({ t: show.chatAt + reaction * 0.25, type: 'reaction', user: `viewer${reaction}`, kind: 'heart' });
  return { events };
}

/** Two short 320×180 shows with sound, imported through POST /v1/recordings with their events, as a user would. */
export async function importStudioShows(url: string, dir: string): Promise<StudioRecording[]> {
  const recordings: StudioRecording[] = [];
  for (const [index, show] of SHOWS.entries()) {
    const file = path.join(dir, `show-${index}.mp4`);
    await runFfmpeg([
      '-f', 'lavfi', '-i', `${show.pattern}=s=320x180:r=15:d=${SHOW_S}`,
      '-f', 'lavfi', '-i', `sine=f=${300 + index * 100}:sample_rate=44100:d=${SHOW_S}`,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', file,
    ]);
    const form = new FormData();
    form.append('media', new Blob([await readFile(file)], { type: 'video/mp4' }), `show-${index}.mp4`);
    form.append('events', JSON.stringify(showEvents(show)));
    form.append('title', show.title);
    const response = await adminFetch(`${url}/v1/recordings`, { method: 'POST', body: form });
    const recording = (await response.json()) as StudioRecording;
    expect(response.status, JSON.stringify(recording)).toBe(201);
    recordings.push({ id: recording.id, title: recording.title, durationS: recording.durationS });
  }
  return recordings;
}

/** A JSON API call as the admin. */
export async function adminApi(url: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await adminFetch(`${url}${route}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}
