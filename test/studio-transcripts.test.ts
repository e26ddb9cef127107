import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminFetch as fetch, waitFor } from './helpers/livefx-process.js';
import { TRANSCRIPTION_EVENT } from '../highlights/analysis/recording-transcriber.js';
import type { LivefxServer } from '../server/livefx-server.js';
import { highlightShowEvents } from './helpers/highlight-fixture.js';
import { startShowServer, type ShowServer } from './helpers/show-server.js';

let opened: ShowServer | undefined;
let server: LivefxServer;
let url: string;
let showFile: string;

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${route}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** The show as an outside video brings it: chat, reactions and viewers, but no transcript. */
async function importWithoutTranscript(title: string): Promise<string> {
  const events = highlightShowEvents().events.filter((event) => event.type !== 'transcript-word');
  return (await server.recorder.importer.import({ media: showFile, events: { events }, title })).id;
}

async function highlights(recordingId: string): Promise<any> {
  const posted = await api('POST', '/v1/video/highlights', { recording_id: recordingId, k: 2 });
  expect(posted.status, JSON.stringify(posted.body)).toBe(202);
  return waitFor(
    `highlights of ${recordingId}`,
    async () => {
      const view = (await api('GET', `/v1/video/highlights/${posted.body.id}`)).body;
      return ['done', 'failed', 'cancelled'].includes(view.status) ? view : undefined;
    },
    120_000,
    250,
  );
}

const counts = async (recordingId: string): Promise<{ words: number; transcriptions: number }> => {
  const all = await server.recorder.catalog.eventCounts(recordingId);
  return { words: all.get('transcript-word') ?? 0, transcriptions: all.get(TRANSCRIPTION_EVENT) ?? 0 };
};

beforeAll(async () => {
  opened = await startShowServer('studio-transcripts');
  ({ showFile, server, url } = opened);
}, 120_000);

afterAll(() => opened?.close());

describe('recordings without a transcript', () => {
  it('are transcribed once with the speech engine, and highlights use those words for captions and chapter titles', async () => {
    const recordingId = await importWithoutTranscript('imported show');
    expect((await counts(recordingId))).toEqual({ words: 0, transcriptions: 0 });
    const first = await highlights(recordingId);
    expect(first.status, first.error).toBe('done');
    const after = (await counts(recordingId));
    expect(after.transcriptions).toBe(1);
    expect(after.words).toBeGreaterThan(5);
    expect(first.result.notes.join(' ')).not.toContain('no transcript');
    expect(first.result.clips.some((clip: any) => clip.captions !== null)).toBe(true);
    // Chapter titles come from what is said, not from reaction counts.
    expect(first.result.chapters.some((chapter: any) => !/^Chapter \d+/.test(chapter.title))).toBe(true);
    expect(first.result.provenance.versions.asr).toMatch(/pocketsphinx/);
    const captions = await fetch(`${url}${first.result.clips.find((clip: any) => clip.captions !== null).captions}`);
    expect(captions.status).toBe(200);
    expect(await captions.text()).toMatch(/-->\s[\d:.]+\n\S+/);
    // A second job and a storyboard read the stored words: nothing is transcribed again.
    const second = await highlights(recordingId);
    expect(second.status, second.error).toBe('done');
    const planned = await api('POST', '/v1/video/storyboards', { prompt: 'the goal', sources: { recording_ids: [recordingId] } });
    expect(planned.status, JSON.stringify(planned.body)).toBe(201);
    expect(planned.body.captions).toBe(true);
    expect((await counts(recordingId))).toEqual(after);
  }, 240_000);

  it('are transcribed when first planned from, once even for two plans at the same time', async () => {
    const recordingId = await importWithoutTranscript('imported for the studio');
    const request = { prompt: '20s of the goal', sources: { recording_ids: [recordingId] } };
    const [first, second] = await Promise.all([api('POST', '/v1/video/storyboards', request), api('POST', '/v1/video/storyboards', request)]);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect((await counts(recordingId)).transcriptions).toBe(1);
    expect((await counts(recordingId)).words).toBeGreaterThan(5);
    expect(second.body.shots).toEqual(first.body.shots);
  }, 240_000);
});
