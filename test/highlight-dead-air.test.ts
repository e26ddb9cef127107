import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, waitFor } from './helpers/livefx-process.js';
import { loadConfig } from '../core/config.js';
import { LivefxServer } from '../server/livefx-server.js';
import { DEAD_AIR, highlightShowEvents, makeHighlightShow, SPEECH } from './helpers/highlight-fixture.js';

const HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` };
/** People chat just after the dead air ends (the show is back): the moment's clip reaches back across it. */
const PEAK = 57;
/** The sentence spoken after the dead air, whose caption must move earlier by the cut-out gap. */
const AFTER = SPEECH.find((spoken) => spoken.at > DEAD_AIR[1])!;

let scratch: string;
let server: LivefxServer;
let url: string;
let recordingId: string;

function probeDuration(file: string): number {
  const result = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return Number(result.stdout.trim());
}

/** Black stretches of at least 1 s in a file (the planted dead air is black). */
function blackStretches(file: string): string[] {
  const result = spawnSync('ffmpeg', ['-hide_banner', '-nostats', '-i', file, '-vf', 'blackdetect=d=1:pix_th=0.1', '-an', '-f', 'null', '-'], { encoding: 'utf8' });
  return [...result.stderr.matchAll(/black_start:[\d.]+ black_end:[\d.]+/g)].map((match) => match[0]);
}

async function runJob(request: Record<string, unknown>): Promise<any> {
  const posted = await fetch(`${url}/v1/video/highlights`, { method: 'POST', headers: HEADERS, body: JSON.stringify(request) });
  expect(posted.status).toBe(202);
  const { id } = await posted.json();
  return waitFor('the job', async () => {
    const view = await (await fetch(`${url}/v1/video/highlights/${id}`, { headers: HEADERS })).json();
    return view.status === 'done' || view.status === 'failed' ? view : undefined;
  }, 90_000);
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-dead-air-'));
  const show = await makeHighlightShow(scratch);
  server = new LivefxServer({ config: loadConfig({ HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: path.join(scratch, 'data'), LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN }), log: pino({ level: 'silent' }) });
  url = (await server.start()).url;
  // The show's transcript and background chat, with one crowd moment right after the dead air instead of the usual peaks.
  const events = highlightShowEvents().events.filter((event) => !('user' in event) || !event.user.startsWith('fan-'));
  for (let person = 0; person < 14; person++) events.push({ t: PEAK - 1.5 + (person * 3) / 14, type: 'chat', user: `crowd-${person}`, text: 'back!' });
  events.sort((a, b) => a.t - b.t);
  recordingId = (await server.recorder.importer.import({ media: show, events: { events } })).id;
}, 90_000);

afterAll(async () => {
  await server?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('dead air inside a clip', () => {
  for (const quality of ['preview', 'final'] as const) {
    it(`is cut out and the parts joined, with captions shifted (${quality})`, async () => {
      const job = await runJob({ recording_id: recordingId, k: 1, min_clip_s: 20, max_clip_s: 40, quality, captions: 'sidecar' });
      expect(job.status, job.error).toBe('done');
      const [clip] = job.result.clips;
      expect(clip.start, 'the clip starts before the dead air').toBeLessThan(DEAD_AIR[0] - 1);
      expect(clip.end, 'and ends after it').toBeGreaterThan(DEAD_AIR[1] + 1);
      expect(clip.gaps.length).toBe(1);
      const [gapStart, gapEnd] = clip.gaps[0];
      expect(Math.abs(gapStart - DEAD_AIR[0])).toBeLessThanOrEqual(0.5);
      expect(Math.abs(gapEnd - DEAD_AIR[1])).toBeLessThanOrEqual(0.5);
      expect(clip.reasons).toContain('dead air cut out');

      const dir = server.highlights.jobDir(job.id);
      const file = path.join(dir, 'clip-1.mp4');
      const kept = clip.end - clip.start - (gapEnd - gapStart);
      expect(probeDuration(file)).toBeCloseTo(kept, 0);
      expect(blackStretches(file), 'no black dead air left in the clip').toEqual([]);

      const vtt = await readFile(path.join(dir, 'clip-1.vtt'), 'utf8');
      const cue = vtt.split('\n\n').find((block) => block.includes(AFTER.text));
      expect(cue, vtt).toBeDefined();
      const [, minutes, seconds] = /(\d\d):(\d\d\.\d+) -->/.exec(cue!)!;
      const cueStart = Number(minutes) * 60 + Number(seconds);
      expect(Math.abs(cueStart - (AFTER.at - clip.start - (gapEnd - gapStart)))).toBeLessThanOrEqual(0.1);
    });
  }
});
