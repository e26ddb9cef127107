import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImportError, RecordingImporter } from '../../recorder/recording-importer.js';
import { AUTH, FuzzSession, describeInput, rawRequest } from './fuzz-harness.js';
import { mediaFixtures, multipartBody, validEvents } from './fuzz-fixtures.js';
import { FUZZ_COUNT, TRAVERSALS, runBounded, type FuzzInput } from './fuzz-input.js';

// Recording imports (POST /v1/recordings, what `livefx import` uploads): events JSON mutated from the
// README's example, and uploaded media mutated from a real MP4 and PNG; an import over the size limit.

let session: FuzzSession;
let mp4: Buffer;
let png: Buffer;

beforeAll(async () => {
  // A 1 MiB import limit, so the oversized case is cheap to send.
  session = await FuzzSession.start('import', { env: { LIVEFX_IMPORT_MAX_MB: '1' } });
  ({ mp4, png } = await mediaFixtures(session.scratch));
}, 120_000);

afterAll(async () => {
  await session?.close();
});

function eventsFor(input: FuzzInput): string {
  const roll = input.int(0, 9);
  if (roll <= 5) return JSON.stringify(input.mutateValue(validEvents())) ?? 'null';
  if (roll === 6) return input.mutateBytes(Buffer.from(JSON.stringify(validEvents()))).toString('latin1');
  if (roll === 7) return input.deepNest();
  if (roll === 8) return JSON.stringify({ events: Array.from({ length: input.pick([10_001, 2000]) }, (_, index) => ({ t: index / 1000, type: 'chat', user: 'u', text: 'x' })) });
  return input.string();
}

/** Posts one import; an accepted one is deleted again so thousands of inputs leave the disk as it was. */
async function postImport(label: string, parts: Parameters<typeof multipartBody>[0]): Promise<void> {
  const form = multipartBody(parts);
  try {
    const response = await rawRequest(session.url, 'POST', '/v1/recordings', { headers: { ...AUTH, 'content-type': form.contentType }, body: form.body, timeoutMs: 60_000 });
    session.check(response, label);
    if (response.status === 201) {
      const id = (JSON.parse(response.body.toString()) as { id: string }).id;
      await fetch(`${session.url}/v1/recordings/${id}`, { method: 'DELETE', headers: AUTH });
    }
  } catch (error) {
    session.problems.count('no answer');
    session.problems.add('no answer', `${label} → ${(error as Error).message}`);
  }
}

describe('recording import fuzz', () => {
  it(`refuses ${FUZZ_COUNT} malformed events documents with invalid_events naming the field, in process and over HTTP`, async () => {
    // In process, as `livefx import --events` reads the file: only ImportError may come out.
    const strays: string[] = [];
    for (let index = 0; index < FUZZ_COUNT; index++) {
      const text = eventsFor(session.input.fork(`events #${index}`));
      try {
        RecordingImporter.parseEvents(text);
      } catch (error) {
        if (!(error instanceof ImportError) || error.code !== 'invalid_events' || !error.message) strays.push(`${describeInput(index, 'events', text)} → ${String(error)}`);
      }
    }
    expect(strays.slice(0, 5), `${strays.length} inputs threw something other than invalid_events`).toEqual([]);
    // Over HTTP with the real MP4: each document either imports or is refused before the media is copied.
    await runBounded(FUZZ_COUNT, 6, async (index) => {
      const input = session.input.fork(`events #${index}`);
      const events = eventsFor(input);
      const asFile = input.chance(0.5);
      await postImport(describeInput(index, `POST /v1/recordings events ${asFile ? 'file' : 'field'}`, events), [
        { name: 'media', filename: 'fixture.mp4', value: mp4, contentType: 'video/mp4' },
        asFile ? { name: 'events', filename: 'events.json', value: events, contentType: 'application/json' } : { name: 'events', value: events },
      ]);
      if (index === 100) await session.warmedUp();
    });
    await session.finish('events JSON');
  }, 180_000);

  it(`refuses ${FUZZ_COUNT} malformed media uploads and broken forms with a clear 4xx; an oversized one gets 413`, async () => {
    session.nextSurface();
    await runBounded(FUZZ_COUNT, 6, async (index) => {
      const input = session.input.fork(`media #${index}`);
      const roll = input.int(0, 9);
      const media = roll <= 5 ? input.mutateBytes(mp4) : roll === 6 ? input.mutateBytes(png) : roll === 7 ? png : input.bytes(input.int(0, 8192));
      const filename = input.chance(0.8) ? input.pick(['clip.mp4', 'clip.mkv', 'clip.webm', 'clip', 'clip.mp4.exe']) : `${input.pick(TRAVERSALS)}.mp4`;
      const parts: Parameters<typeof multipartBody>[0] = [{ name: 'media', filename: filename.replace(/["\r\n]/g, ''), value: media, contentType: input.pick(['video/mp4', 'application/octet-stream', 'image/png']) }];
      // Broken forms: fields past the limits, a second media, unknown fields, a title of junk.
      if (input.chance(0.2)) parts.push({ name: input.pick(['media', 'events', 'title', 'other', '']), value: input.string().slice(0, 2000), ...(input.chance(0.5) ? { filename: 'x.bin' } : {}) });
      if (input.chance(0.1)) for (let count = 0; count < 8; count++) parts.push({ name: `extra${count}`, value: 'x' });
      if (input.chance(0.2)) parts.push({ name: 'title', value: input.string().slice(0, 5000) });
      await postImport(describeInput(index, `POST /v1/recordings media ${JSON.stringify(filename).slice(0, 60)} (${parts.length} parts)`, media), parts);
      if (index === 100) await session.warmedUp();
    });
    const form = multipartBody([{ name: 'media', filename: 'big.mp4', value: Buffer.concat([mp4, Buffer.alloc(2 * 1024 * 1024)]) }]);
    const big = await rawRequest(session.url, 'POST', '/v1/recordings', { headers: { ...AUTH, 'content-type': form.contentType }, body: form.body });
    expect(big.status, big.body.toString()).toBe(413);
    expect(JSON.parse(big.body.toString()).error.code).toBe('file_too_large');
    // Nothing half-imported is left: the catalog holds no recording after all of that.
    const list = (await (await fetch(`${session.url}/v1/recordings`, { headers: AUTH })).json()) as { recordings: unknown[] };
    expect(list.recordings).toEqual([]);
    await session.finish('uploaded media');
  }, 180_000);
});
