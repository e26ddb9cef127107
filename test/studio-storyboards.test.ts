import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, adminFetch } from './helpers/livefx-process.js';
import { LivefxError } from '../core/errors.js';
import { accessRuleFor } from '../server/auth/route-access.js';
import type { LivefxServer } from '../server/livefx-server.js';
import { storyboardBodySchema } from '../studio/storyboard.js';
import { runFfmpeg } from './helpers/ffmpeg-fixtures.js';
import { DEAD_AIR, highlightShowEvents, PEAKS } from './helpers/highlight-fixture.js';
import { startShowServer, type ShowServer } from './helpers/show-server.js';

let opened: ShowServer | undefined;
let dataDir: string;
let server: LivefxServer;
let url: string;
let recordingId: string;
let otherStreamRecording: string;
let operator: { token: string; streamId: string };

const ADMIN = { role: 'admin' as const, label: 'test' };

async function api(method: string, route: string, body?: unknown, token = ADMIN_TOKEN, raw?: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const plan = (body: Record<string, unknown>, token?: string) => api('POST', '/v1/video/storyboards', body, token);
const clips = (storyboard: any): any[] => storyboard.shots.filter((shot: any) => shot.kind === 'clip');
const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);

beforeAll(async () => {
  opened = await startShowServer('studio');
  ({ dataDir, server, url } = opened);
  recordingId = (await server.recorder.importer.import({ media: opened.showFile, events: highlightShowEvents(), title: 'garden show' })).id;
  // A finished recording of another stream (its media is never read: access is refused first).
  otherStreamRecording = 'rec-of-another-stream';
  const now = new Date().toISOString();
  server.recorder.catalog.create({ id: otherStreamRecording, streamId: 'another-stream', title: 'private', state: 'complete', startedAt: now, endedAt: now, durationS: 60 });
  const created = await adminFetch(`${url}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'mine' }) });
  const stream = (await created.json()) as { id: string; operatorToken: string };
  operator = { token: stream.operatorToken, streamId: stream.id };
  await mkdir(path.join(dataDir, 'images'), { recursive: true });
  await runFfmpeg(['-f', 'lavfi', '-i', 'color=c=orange:s=320x180:d=1', '-frames:v', '1', path.join(dataDir, 'images', 'logo.png')]);
}, 120_000);

afterAll(() => opened?.close());

describe('the planner', () => {
  it('picks the moment the prompt names, cites the transcript, and keeps the prompt\'s duration, aspect and look', async () => {
    const response = await plan({ prompt: '20s recap of the giveaway, warm look, vertical', sources: { recording_ids: [recordingId] } });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    const storyboard = response.body;
    expect(storyboard.id).toMatch(/^sb_/);
    expect(storyboard.duration_s).toBe(20);
    expect(storyboard.aspect).toBe('9:16');
    expect(storyboard.style).toBe('warm');
    expect(storyboard.shots).toHaveLength(4);
    // "Giveaway time everyone, join in now." is said at 64 s.
    const giveaway = clips(storyboard).find((shot) => shot.source.in <= 64.2 && shot.source.out >= 65);
    expect(giveaway, JSON.stringify(storyboard.shots)).toBeDefined();
    expect(giveaway.reasons).toContain("transcript: 'giveaway'");
    expect(giveaway.reasons.some((reason: string) => /^scene \d+$/.test(reason))).toBe(true);
    expect(giveaway.camera).toBe('follow-face');
    expect(storyboard.captions).toBe(true);
    expect(storyboard.provenance.sources[0].recording_id).toBe(recordingId);
    expect(storyboard.provenance.sources[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    const { id: _id, provenance: _provenance, created_at: _created, updated_at: _updated, ...body } = storyboard;
    expect(storyboardBodySchema.safeParse(body).success).toBe(true);
  });

  it('without words to match, takes the moments the audience reacted to, with reasons; never starts in dead air', async () => {
    const response = await plan({ prompt: 'a recap', shots: 2, duration_s: 20, sources: { recording_ids: [recordingId] } });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    const chosen = clips(response.body);
    expect(chosen).toHaveLength(2);
    for (const peak of PEAKS) {
      const shot = chosen.find((candidate) => candidate.source.in <= peak && candidate.source.out >= peak - 1);
      expect(shot, `a shot at the peak at ${peak} s: ${JSON.stringify(chosen)}`).toBeDefined();
      expect(shot.reasons.some((reason: string) => /^chat from \d+ people$/.test(reason))).toBe(true);
    }
    for (const shot of chosen) expect(shot.source.in >= DEAD_AIR[0] && shot.source.in < DEAD_AIR[1]).toBe(false);
  });

  it('fills duration_s exactly: shot lengths add up and each starts where the one before ends', async () => {
    for (const [duration, shots] of [
      [30, 4],
      [17, 3],
      [5, 20],
      [180, 7],
    ] as const) {
      const response = await plan({ prompt: 'the goal and the giveaway with a title card and an end card', duration_s: duration, shots, sources: { recording_ids: [recordingId] } });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      const storyboard = response.body;
      expect(sum(storyboard.shots.map((shot: any) => shot.duration))).toBe(duration);
      let start = 0;
      for (const [index, shot] of storyboard.shots.entries()) {
        expect(shot.index).toBe(index);
        expect(shot.start).toBeCloseTo(start, 6);
        start += shot.duration;
        for (const reason of shot.reasons) expect(typeof reason).toBe('string');
        expect(shot.reasons.length).toBeGreaterThan(0);
        if (shot.kind === 'clip') expect(shot.source.out).toBeLessThanOrEqual((await server.recorder.catalog.get(recordingId))!.durationS);
      }
      expect(storyboard.shots[0].kind).toBe('title');
      expect(storyboard.shots[storyboard.shots.length - 1].kind).toBe('title');
    }
  });

  it('is deterministic for a seed', async () => {
    const request = { prompt: '30s of the goal, the second half and the giveaway, cinematic', seed: 7, sources: { recording_ids: [recordingId] } };
    const first = (await plan(request)).body;
    const second = (await plan(request)).body;
    expect(second.id).not.toBe(first.id);
    expect(second.shots).toEqual(first.shots);
    expect(second.seed).toBe(7);
    expect(first.shots.some((shot: any) => shot.reasons.includes("transcript: 'second half'"))).toBe(true);
  });

  it.each([
    ['1 min video of the goal, cinematic look, square', 60, '1:1', 'cinematic'],
    ['45 seconds, 9:16, black and white', 45, '9:16', 'mono'],
    ['the giveaway in widescreen', 30, '16:9', 'clean'],
  ])('reads "%s" as %i s, %s, %s', async (prompt, duration, aspect, style) => {
    const response = await plan({ prompt, sources: { recording_ids: [recordingId] } });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect([response.body.duration_s, response.body.aspect, response.body.style]).toEqual([duration, aspect, style]);
  });

  it('takes a stored preset named in the prompt as its look, and refuses a style that is neither', async () => {
    const preset = await api('PUT', '/v1/presets/night-glow', { transforms: [{ name: 'color', params: { saturation: 1.3 } }] });
    expect(preset.status, JSON.stringify(preset.body)).toBe(201);
    const response = await plan({ prompt: '15s of the goal in the night-glow look', sources: { recording_ids: [recordingId] } });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect(response.body.style).toBe('night-glow');
    expect((await plan({ prompt: 'the goal', style: 'night-glow', sources: { recording_ids: [recordingId] } })).body.style).toBe('night-glow');
  });

  it('with no recordings, builds from the uploaded images and title cards', async () => {
    const images = await plan({ prompt: '15s promo for the weekend plans', shots: 3, sources: { recording_ids: [], asset_ids: ['logo.png'] } });
    expect(images.status, JSON.stringify(images.body)).toBe(201);
    expect(images.body.shots.map((shot: any) => shot.kind)).toEqual(['image', 'image', 'image']);
    expect(images.body.shots[0].source).toEqual({ asset_id: 'logo.png' });
    expect(images.body.shots[0].reasons).toContain('asset: logo.png');
    expect(sum(images.body.shots.map((shot: any) => shot.duration))).toBe(15);
    const cards = await plan({ prompt: 'the garden hour and the weekend plans, with a title card', shots: 3, sources: { recording_ids: [], asset_ids: [] } });
    expect(cards.status, JSON.stringify(cards.body)).toBe(201);
    expect(cards.body.shots.every((shot: any) => shot.kind === 'title')).toBe(true);
    expect(cards.body.shots.map((shot: any) => shot.text)).toContain('Weekend plans');
  });
});

describe('bad storyboard requests are refused, naming the problem', () => {
  it.each([
    [{ prompt: '' }, 400, 'invalid_request', 'prompt'],
    [{ prompt: 'x'.repeat(2001) }, 400, 'invalid_request', 'prompt'],
    [{ prompt: 'ok', shots: 0 }, 400, 'invalid_request', 'shots'],
    [{ prompt: 'ok', shots: 21 }, 400, 'invalid_request', 'shots'],
    [{ prompt: 'ok', aspect: '4:3' }, 400, 'invalid_request', 'aspect'],
    [{ prompt: 'ok', style: 'sepia-dream' }, 400, 'invalid_request', 'sepia-dream'],
    [{ prompt: 'ok', sources: { recording_ids: ['no-such-recording'] } }, 404, 'recording_not_found', 'no-such-recording'],
    [{ prompt: 'ok', sources: { recording_ids: [], asset_ids: ['missing.png'] } }, 404, 'asset_not_found', 'missing.png'],
    [{ prompt: 'ok', sources: { recording_ids: [], asset_ids: ['../livefx.db'] } }, 400, 'invalid_file_name', '../livefx.db'],
    [{ prompt: 'ok', sources: { recording_ids: [], asset_ids: ['../images/logo.png'] } }, 400, 'invalid_file_name', '..'],
    [{ prompt: 'ok', template: 'no-such-template' }, 404, 'template_not_found', 'no-such-template'],
  ])('%j → %i %s', async (body, status, code, named) => {
    const response = await plan(body);
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.message).toContain(named);
  });

  it('storyboards and templates are for admins and any operator', () => {
    for (const [method, route] of [
      ['POST', '/v1/video/storyboards'],
      ['PATCH', '/v1/video/storyboards/:id'],
      ['GET', '/v1/video/templates'],
      ['PUT', '/v1/video/templates/:name'],
    ]) {
      expect(accessRuleFor(method!, route!)).toBe('any-operator');
    }
  });

  it('an operator of one stream may not use another stream\'s recording (403), nor read storyboards made from it', async () => {
    const refused = await plan({ prompt: 'ok', sources: { recording_ids: [otherStreamRecording] } }, operator.token);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    expect(refused.body.error.message).toContain(otherStreamRecording);
    // The import is no stream's: an operator of one stream cannot use it either.
    expect((await plan({ prompt: 'ok', sources: { recording_ids: [recordingId] } }, operator.token)).status).toBe(403);
    const admins = await plan({ prompt: 'the goal', sources: { recording_ids: [recordingId] } });
    expect((await api('GET', `/v1/video/storyboards/${admins.body.id}`, undefined, operator.token)).status).toBe(403);
    const listed = await api('GET', '/v1/video/storyboards', undefined, operator.token);
    expect(listed.status).toBe(200);
    expect(listed.body.map((storyboard: any) => storyboard.id)).not.toContain(admins.body.id);
    // Its own plan, with no recordings of its stream: title cards and images.
    const own = await plan({ prompt: 'weekend plans', shots: 2 }, operator.token);
    expect(own.status, JSON.stringify(own.body)).toBe(201);
    expect(clips(own.body)).toHaveLength(0);
    expect((await api('GET', '/v1/video/storyboards', undefined, 'not-a-token')).status).toBe(401);
  });
});

describe('stored storyboards', () => {
  it('lists, reads, edits (reorder, delete, retime: validated as a whole) and deletes', async () => {
    const created = (await plan({ prompt: '30s of the goal and the giveaway', sources: { recording_ids: [recordingId] } })).body;
    const listed = await api('GET', '/v1/video/storyboards');
    expect(listed.body[0].id).toBe(created.id);
    expect((await api('GET', `/v1/video/storyboards/${created.id}`)).body).toEqual(created);
    const reordered = [...created.shots].reverse().slice(0, 3).map((shot: any) => ({ ...shot, duration: 6 }));
    const patched = await api('PATCH', `/v1/video/storyboards/${created.id}`, { shots: reordered, style: 'mono' });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.shots.map((shot: any) => [shot.index, shot.start, shot.duration])).toEqual([
      [0, 0, 6],
      [1, 6, 6],
      [2, 12, 6],
    ]);
    expect(patched.body.shots[0].source).toEqual(created.shots[3].source);
    expect(patched.body.duration_s).toBe(18);
    expect(patched.body.style).toBe('mono');
    expect(patched.body.provenance).toEqual(created.provenance);
    const bad = await api('PATCH', `/v1/video/storyboards/${created.id}`, { shots: [{ ...created.shots[0], duration: 0 }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('shots.0.duration');
    const wrongSource = await api('PATCH', `/v1/video/storyboards/${created.id}`, { shots: [{ ...created.shots[0], kind: 'clip', source: { recording_id: 'gone', in: 0, out: 5 } }] });
    expect(wrongSource.status).toBe(404);
    expect((await api('GET', `/v1/video/storyboards/${created.id}`)).body.style).toBe('mono');
    expect((await api('DELETE', `/v1/video/storyboards/${created.id}`)).status).toBe(204);
    const gone = await api('GET', `/v1/video/storyboards/${created.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('storyboard_not_found');
    expect((await api('DELETE', `/v1/video/storyboards/${created.id}`)).status).toBe(404);
  });
});

const userTemplate = (name: string): Record<string, unknown> => ({
  name,
  description: 'a test promo',
  prompt: '{{title}} giveaway',
  duration_s: 10,
  aspect: '1:1',
  fields: [
    { name: 'title', type: 'text', required: true },
    { name: 'bg', type: 'color', default: '#101010' },
  ],
  shots: [
    { kind: 'title', duration: 3, text: '{{title}}', color: '{{bg}}' },
    { kind: 'clip', duration: 7, source: 'auto' },
  ],
});

describe('templates', () => {
  it('lists the three built-ins with their fields', async () => {
    const listed = await api('GET', '/v1/video/templates');
    expect(listed.status).toBe(200);
    const names = listed.body.map((template: any) => template.name);
    for (const name of ['promo-15s', 'vertical-short', 'recap-60s']) expect(names).toContain(name);
    const promo = listed.body.find((template: any) => template.name === 'promo-15s');
    expect(promo).toMatchObject({ duration_s: 15, aspect: '16:9', builtin: true });
    expect(promo.fields).toContainEqual({ name: 'title', type: 'text', required: true });
    expect((await api('GET', '/v1/video/templates/vertical-short')).body.aspect).toBe('9:16');
  });

  it('stores a valid upload, lists it, and deletes it; built-ins stay', async () => {
    const put = await api('PUT', '/v1/video/templates/my-promo', userTemplate('my-promo'));
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    expect(put.body).toMatchObject({ name: 'my-promo', duration_s: 10, aspect: '1:1', builtin: false });
    expect((await api('PUT', '/v1/video/templates/my-promo', userTemplate('my-promo'))).status).toBe(200);
    expect((await api('GET', '/v1/video/templates')).body.map((template: any) => template.name)).toContain('my-promo');
    const builtin = await api('DELETE', '/v1/video/templates/promo-15s');
    expect(builtin.status).toBe(409);
    expect(builtin.body.error.code).toBe('builtin_template');
    expect((await api('PUT', '/v1/video/templates/promo-15s', userTemplate('promo-15s'))).status).toBe(409);
    expect((await api('DELETE', '/v1/video/templates/my-promo')).status).toBe(204);
    const gone = await api('GET', '/v1/video/templates/my-promo');
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('template_not_found');
    expect((await api('DELETE', '/v1/video/templates/my-promo')).status).toBe(404);
  });

  it.each([
    ['not JSON', 'broken', '{"name": "broken", ', 400, 'invalid_request', 'not valid JSON'],
    ['over the size limit', 'big', JSON.stringify({ ...userTemplate('big'), description: 'x'.repeat(70 * 1024) }), 413, 'file_too_large', '65536 bytes'],
    ['a wrong field type', 'typed', JSON.stringify({ ...userTemplate('typed'), duration_s: 'ten' }), 422, 'invalid_template', 'duration_s'],
    ['an undeclared merge field', 'undeclared', JSON.stringify({ ...userTemplate('undeclared'), prompt: '{{nope}}' }), 422, 'invalid_template', 'nope'],
    ['a shot that cannot be a storyboard shot', 'badshot', JSON.stringify({ ...userTemplate('badshot'), shots: [{ kind: 'title', duration: 6 }] }), 422, 'invalid_template', 'shots.0.text'],
    ['named otherwise inside', 'mismatch', JSON.stringify(userTemplate('other-name')), 422, 'invalid_template', 'other-name'],
  ])('refuses a template that is %s', async (_what, target, text, status, code, named) => {
    const response = await api('PUT', `/v1/video/templates/${target}`, undefined, ADMIN_TOKEN, text);
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.message).toContain(named);
    expect((await api('GET', `/v1/video/templates/${target}`)).status).toBe(404);
  });

  it('expands a built-in with merge values into a storyboard: clips chosen for its prompt, text and colour filled', async () => {
    const body = await server.templates.expand('promo-15s', { title: 'Big giveaway', topic: 'giveaway', accent: '#00ff00' }, { recording_ids: [recordingId] }, ADMIN, 3);
    expect(storyboardBodySchema.safeParse(body).success).toBe(true);
    expect(body.duration_s).toBe(15);
    expect(body.seed).toBe(3);
    expect(body.template).toBe('promo-15s');
    expect(body.shots[0]).toMatchObject({ kind: 'title', text: 'Big giveaway', color: '#00ff00' });
    const clipShots = body.shots.filter((shot) => shot.kind === 'clip');
    expect(clipShots).toHaveLength(2);
    expect(clipShots.some((shot) => shot.reasons.includes("transcript: 'giveaway'"))).toBe(true);
    expect(body.music).toEqual({ track: 'uplift', gain_db: -16, duck: true });
    const vertical = await server.templates.expand('promo-15s', { title: 'Big giveaway', aspect: '9:16', clip_s: '6' }, { recording_ids: [recordingId] }, ADMIN);
    expect(vertical.aspect).toBe('9:16');
    expect(vertical.duration_s).toBe(18);
    const noRecordings = await server.templates.expand('recap-60s', { title: 'Week one', logo: 'logo.png' }, { recording_ids: [], asset_ids: ['logo.png'] }, ADMIN);
    expect(noRecordings.shots.filter((shot) => shot.kind === 'clip')).toHaveLength(0);
    expect(noRecordings.shots.some((shot) => shot.kind === 'image' && shot.source && 'asset_id' in shot.source && shot.source.asset_id === 'logo.png')).toBe(true);
    expect(noRecordings.duration_s).toBe(62);
  });

  it.each([
    ['promo-15s', {}, 'missing_merge_field', 'title'],
    ['promo-15s', { title: 'x', accent: 'red' }, 'invalid_merge_value', 'accent'],
    ['promo-15s', { title: 'x', clip_s: 'long' }, 'invalid_merge_value', 'clip_s'],
    ['promo-15s', { title: 42 }, 'invalid_merge_value', 'title'],
    ['promo-15s', { title: 'x', colour: '#ffffff' }, 'unknown_merge_field', 'colour'],
    ['promo-15s', { title: 'x', aspect: '4:3' }, 'invalid_merge_value', 'aspect'],
    ['recap-60s', { title: 'x', logo: 'nope.png' }, 'asset_not_found', 'nope.png'],
    ['recap-60s', { title: 'x', logo: '../livefx.db' }, 'invalid_file_name', '../livefx.db'],
    ['recap-60s', { title: 'x', recording: 'no-such-recording' }, 'recording_not_found', 'no-such-recording'],
    ['no-such-template', {}, 'template_not_found', 'no-such-template'],
  ])('expanding %s with %j fails with %s naming %s', async (template, merge, code, named) => {
    const error = await server.templates.expand(template, merge, {}, ADMIN).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LivefxError);
    expect((error as LivefxError).code).toBe(code);
    expect((error as LivefxError).message).toContain(named);
    if (code === 'missing_merge_field' || code === 'invalid_merge_value') expect((error as LivefxError).httpStatus).toBe(422);
  });

  it('a storyboard request naming a template takes its length, ratio, look and cards', async () => {
    const response = await plan({ prompt: 'the giveaway', template: 'vertical-short', sources: { recording_ids: [recordingId] } });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect(response.body).toMatchObject({ duration_s: 20, aspect: '9:16', style: 'warm', template: 'vertical-short' });
    expect(response.body.shots[0].kind).toBe('title');
    expect(response.body.shots[response.body.shots.length - 1].kind).toBe('title');
  });
});
