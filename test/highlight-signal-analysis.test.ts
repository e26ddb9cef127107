import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaSignalEvents, type MediaSignalEvents } from './helpers/media-signal-events.js';
import { ADMIN_TOKEN, waitFor } from './helpers/livefx-process.js';
import { liveSignalAnalysis } from '../highlights/analysis/live-signal-analysis.js';
import { loadConfig } from '../core/config.js';
import { LivefxServer } from '../server/livefx-server.js';
import { DEAD_AIR, highlightShowEvents, makeHighlightShow, PEAKS, SCENE_CUTS, SHOW_S } from './helpers/highlight-fixture.js';


let scratch: string;
let showFile: string;
let signals: MediaSignalEvents;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-signal-analysis-'));
  showFile = await makeHighlightShow(scratch);
  // The pipeline's own signal code over every frame and 100 ms of the synthetic show.
  signals = await mediaSignalEvents(showFile, { width: 320, height: 180, fps: 15, hasAudio: true });
}, 60_000);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('live signals of the synthetic show', () => {
  it('find its scene cuts within 1 s, and its planted dead air as silence with a still picture', () => {
    const found = liveSignalAnalysis(signals.events.map((event, index) => ({ seq: index + 1, ...event })), SHOW_S);
    const cuts = found.video!.sceneCuts.map((cut) => cut.t);
    for (const cut of SCENE_CUTS) expect(cuts.some((t) => Math.abs(t - cut) <= 1), `cut at ${cut}; found ${cuts.join(', ')}`).toBe(true);
    for (const t of cuts) expect(SCENE_CUTS.some((cut) => Math.abs(t - cut) <= 1), `extra cut at ${t}`).toBe(true);
    const silence = found.audio!.silences.find(([start, end]) => start < DEAD_AIR[1] && end > DEAD_AIR[0]);
    expect(silence, JSON.stringify(found.audio!.silences)).toBeDefined();
    expect(Math.abs(silence![0] - DEAD_AIR[0])).toBeLessThanOrEqual(0.5);
    expect(Math.abs(silence![1] - DEAD_AIR[1])).toBeLessThanOrEqual(0.5);
    expect(found.video!.stills.some(([start, end]) => start <= DEAD_AIR[0] + 0.5 && end >= DEAD_AIR[1] - 0.5), JSON.stringify(found.video!.stills)).toBe(true);
  });

  it('make the highlights job skip ffmpeg analysis and still cover the peaks without dead air', async () => {
    const server = new LivefxServer({ config: loadConfig({ HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: path.join(scratch, 'data'), LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN }), log: pino({ level: 'silent' }) });
    const { url } = await server.start();
    try {
      const recording = await server.recorder.importer.import({ media: showFile, events: highlightShowEvents() });
      // As a live recording's pipeline stores them: appended to the recording's event log.
      const firstSeq = Math.max(0, ...(await server.recorder.catalog.eventSeqs(recording.id))) + 1;
      await server.recorder.catalog.insertEvents(recording.id, signals.events.map((event, index) => ({ seq: firstSeq + index, ...event })));
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` };
      const posted = await fetch(`${url}/v1/video/highlights`, { method: 'POST', headers, body: JSON.stringify({ recording_id: recording.id, k: 2 }) });
      expect(posted.status).toBe(202);
      const { id } = await posted.json();
      const job = await waitFor('the job', async () => {
        const view = await (await fetch(`${url}/v1/video/highlights/${id}`, { headers })).json();
        return view.status === 'done' || view.status === 'failed' ? view : undefined;
      }, 60_000);
      expect(job.status, job.error).toBe('done');
      expect(job.result.provenance.signals.analysis).toBe('live-signals');
      for (const peak of PEAKS) expect(job.result.clips.some((clip: any) => clip.start <= peak && peak <= clip.end), `peak ${peak}`).toBe(true);
      for (const clip of job.result.clips) expect(clip.end <= DEAD_AIR[0] + 0.5 || clip.start >= DEAD_AIR[1] - 0.5, `clip ${clip.start}–${clip.end}`).toBe(true);
    } finally {
      await server.close();
    }
  });
});
