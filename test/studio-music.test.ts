import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LivefxServer } from '../server/livefx-server.js';
import type { StoryboardBody } from '../studio/storyboard.js';
import { runFfmpeg } from './helpers/ffmpeg-fixtures.js';
import { adminFetch as fetch, waitFor } from './helpers/livefx-process.js';
import { closeStudio, MemoryStoryboardStore, startStudioServer, storyboardBody, testProvenance } from './helpers/studio-fixture.js';

let scratch: string;
let dataDir: string;
let server: LivefxServer;
let url: string;
const store = new MemoryStoryboardStore();

async function upload(name: string, content: Buffer, query = ''): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append('file', new Blob([content as BlobPart]), name);
  const response = await fetch(`${url}/v1/music${query}`, { method: 'POST', body: form });
  return { status: response.status, body: await response.json() };
}

/** A title card alone: the render's only sound is the music. */
function titleWithMusic(track: string): StoryboardBody {
  return storyboardBody({
    prompt: 'music upload check',
    style: 'clean',
    seed: 9,
    shots: [{ index: 0, start: 0, duration: 6, kind: 'title', text: 'Our own music', reasons: [] }],
    music: { track, gain_db: -6, duck: false },
  });
}

async function renderStoryboard(body: StoryboardBody): Promise<{ status: number; view: any }> {
  const storyboard = await store.create(body, testProvenance(body.prompt));
  const response = await fetch(`${url}/v1/video/renders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ storyboard_id: storyboard.id }) });
  const posted = (await response.json()) as any;
  if (response.status !== 202) return { status: response.status, view: posted };
  const view = await waitFor(`render ${posted.id}`, async () => {
    const current = (await (await fetch(`${url}/v1/video/renders/${posted.id}`)).json()) as any;
    return ['done', 'failed', 'cancelled'].includes(current.status) ? current : undefined;
  }, 180_000, 200);
  return { status: response.status, view };
}

/** Mean level (dB) of a file's audio between two times. */
function meanVolume(file: string, from: number, to: number): number {
  const out = spawnSync('ffmpeg', ['-hide_banner', '-nostats', '-i', file, '-map', '0:a', '-af', `atrim=${from}:${to},volumedetect`, '-f', 'null', '-'], { encoding: 'utf8' }).stderr;
  return Number(/mean_volume:\s+(-?[\d.]+|-inf) dB/.exec(out)?.[1] ?? Number.NEGATIVE_INFINITY);
}

let track: Buffer;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-music-'));
  dataDir = path.join(scratch, 'data');
  const file = path.join(scratch, 'theme.ogg');
  await runFfmpeg(['-f', 'lavfi', '-i', 'sine=f=440:sample_rate=48000:d=4', '-c:a', 'libvorbis', file]);
  track = await readFile(file);
  ({ server, url } = await startStudioServer(dataDir, { LIVEFX_STUDIO_MIN_FREE_MB: '0', LIVEFX_MUSIC_MAX_MB: '1' }, store));
}, 120_000);

afterAll(() => closeStudio(server, scratch));

describe('music uploads', () => {
  it('stores a track checked by ffprobe and lists it beside the built-in beds', async () => {
    const stored = await upload('theme.ogg', track);
    expect(stored.status, JSON.stringify(stored.body)).toBe(201);
    expect(stored.body).toMatchObject({ name: 'theme.ogg', bytes: track.length, codec: 'vorbis', channels: 1, sample_rate: 48000 });
    expect(Math.abs(stored.body.duration - 4)).toBeLessThan(0.1);
    const listed = (await (await fetch(`${url}/v1/music`)).json()) as any;
    expect(listed.tracks.map((entry: any) => entry.name)).toEqual(['theme.ogg']);
    expect(listed.beds).toEqual(['uplift', 'calm', 'drive']);
    expect((await readFile(path.join(dataDir, 'audio', 'theme.ogg'))).equals(track)).toBe(true);
    expect((await upload('theme.ogg', track)).body.error.code).toBe('file_exists');
    expect((await upload('theme.ogg', track, '?overwrite=true')).status).toBe(201);
  });

  it('plays an uploaded track as a storyboard\'s music.track', async () => {
    const { view } = await renderStoryboard(titleWithMusic('theme.ogg'));
    expect(view.status, JSON.stringify(view.error)).toBe('done');
    const file = path.join(scratch, 'with-music.mp4');
    await writeFile(file, Buffer.from(await (await fetch(`${url}${view.result.file}`)).arrayBuffer()));
    // A title card has no sound of its own: what is heard is the track (looped past its 4 s).
    expect(meanVolume(file, 1, 3)).toBeGreaterThan(-30);
    expect(meanVolume(file, 4.2, 4.5)).toBeGreaterThan(-30);
  }, 200_000);

  it('takes an uploaded track or a built-in bed as music.track in a storyboard edit, and refuses one that is neither', async () => {
    const storyboard = await store.create(titleWithMusic('calm'), testProvenance('music edit'));
    const patch = async (music: unknown): Promise<{ status: number; body: any }> => {
      const response = await fetch(`${url}/v1/video/storyboards/${storyboard.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ music }) });
      return { status: response.status, body: await response.json() };
    };
    const uploaded = await patch({ track: 'theme.ogg', gain_db: -14, duck: true });
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(200);
    expect(uploaded.body.music).toEqual({ track: 'theme.ogg', gain_db: -14, duck: true });
    expect((await patch({ track: 'drive' })).status).toBe(200);
    const missing = await patch({ track: 'nope.mp3' });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'asset_not_found', field: 'music.track', message: expect.stringContaining('POST /v1/music') });
    const escape = await patch({ track: '../livefx.db' });
    expect(escape.status).toBe(400);
    expect(escape.body.error).toMatchObject({ code: 'invalid_file_name', field: 'music.track' });
    expect((await store.get(storyboard.id))!.music!.track).toBe('drive');
  });

  it('refuses what is not a usable audio file, a bad name and an oversized file, and leaves nothing behind', async () => {
    const notAudio = await upload('fake.mp3', Buffer.from('this is not an mp3 file at all'));
    expect(notAudio.status).toBe(422);
    expect(notAudio.body.error).toMatchObject({ code: 'invalid_audio', message: expect.stringContaining('"fake.mp3" is not a usable audio file') });
    const image = path.join(scratch, 'picture.png');
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=64x64', '-frames:v', '1', image]);
    const silentPicture = await upload('picture.wav', await readFile(image));
    expect(silentPicture.status).toBe(422);
    expect(silentPicture.body.error.code).toBe('invalid_audio');
    const videoOnly = path.join(scratch, 'video-only.m4a');
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=64x64:d=1', '-c:v', 'libx264', '-f', 'mp4', videoOnly]);
    const noAudio = await upload('clip.m4a', await readFile(videoOnly));
    expect(noAudio.body.error).toMatchObject({ code: 'invalid_audio', message: expect.stringContaining('no audio stream') });
    for (const name of ['../escape.mp3', 'theme.exe', 'a..b.mp3']) {
      const refused = await upload(name, track);
      expect(refused.status, name).toBe(400);
      expect(refused.body.error.code, name).toBe('invalid_file_name');
    }
    const large = await upload('large.wav', Buffer.concat([track, Buffer.alloc(2 ** 20)]));
    expect(large.status).toBe(413);
    expect(large.body.error).toMatchObject({ code: 'file_too_large', message: expect.stringContaining('1 MiB allowed for a music track') });
    expect((await readdir(path.join(dataDir, 'audio'))).sort()).toEqual(['theme.ogg']);
    expect(existsSync(path.join(scratch, 'escape.mp3'))).toBe(false);
  });

  it('deletes a track; a render naming it then refuses with asset_not_found', async () => {
    const deleted = await fetch(`${url}/v1/music/theme.ogg`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(((await (await fetch(`${url}/v1/music`)).json()) as any).tracks).toEqual([]);
    const again = await fetch(`${url}/v1/music/theme.ogg`, { method: 'DELETE' });
    expect(((await again.json()) as any).error.code).toBe('file_not_found');
    const { status, view } = await renderStoryboard(titleWithMusic('theme.ogg'));
    expect(status).toBe(404);
    expect(view.error).toMatchObject({ code: 'asset_not_found', message: expect.stringContaining('POST /v1/music') });
  }, 60_000);
});
