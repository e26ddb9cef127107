import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, FuzzSession, createStream, describeInput, rawRequest } from './fuzz-harness.js';
import { HEAVY_TRANSFORM_SPECS, SINGLE_TRANSFORM_SPECS, mediaFixtures, multipartBody, validChainSpec, validCube } from './fuzz-fixtures.js';
import { FUZZ_COUNT, TRAVERSALS, encodeLoose, runBounded, type FuzzInput } from './fuzz-input.js';

// Chain specs (PUT, PATCH, presets) against a live stream and an idle one, and .cube and image
// uploads: mutated real documents, junk, traversal names and oversized files.

let session: FuzzSession;
let idle: string;
let png: Buffer;

beforeAll(async () => {
  session = await FuzzSession.start('chain-assets');
  idle = (await createStream(session.server, 'fuzz idle')).id;
  png = (await mediaFixtures(session.scratch)).png;
  for (const [route, name, data] of [['/v1/luts', 'fuzz.cube', Buffer.from(validCube())], ['/v1/images', 'fuzz.png', png]] as const) {
    const form = multipartBody([{ name: 'file', filename: name, value: data }]);
    const response = await rawRequest(session.url, 'POST', route, { headers: { ...AUTH, 'content-type': form.contentType }, body: form.body });
    expect(response.status, response.body.toString()).toBe(201);
  }
  // A malformed .cube put straight into the folder (as a copy by hand would): the running chain must refuse it and stay.
  await mkdir(path.join(session.server.dataDir, 'luts'), { recursive: true });
  await writeFile(path.join(session.server.dataDir, 'luts', 'broken.cube'), 'LUT_3D_SIZE 3\n0 0 0\n1 1\n');
}, 120_000);

afterAll(async () => {
  await session?.close();
});

function chainFor(input: FuzzInput, heavy: boolean): unknown {
  const roll = input.int(0, 9);
  const singles = heavy ? [...SINGLE_TRANSFORM_SPECS, ...HEAVY_TRANSFORM_SPECS] : SINGLE_TRANSFORM_SPECS;
  if (roll <= 4) return input.mutateValue(validChainSpec(input.chance(0.2) ? input.pick(['broken.cube', 'missing.cube', ...TRAVERSALS]) : 'fuzz.cube'));
  if (roll <= 7) return input.mutateValue({ transforms: [input.pick(singles), ...(input.chance(0.5) ? [input.pick(singles)] : [])] });
  if (roll === 8) return { transforms: Array.from({ length: input.pick([17, 100]) }, () => input.pick(SINGLE_TRANSFORM_SPECS)) };
  return input.value(4);
}

async function sendJson(method: string, route: string, body: unknown, label: string): Promise<number> {
  const text = JSON.stringify(body) ?? 'null';
  try {
    const response = await rawRequest(session.url, method, route, { headers: { ...AUTH, 'content-type': 'application/json' }, body: text });
    session.check(response, describeInput(0, `${label} ${method} ${route}`, text));
    return response.status;
  } catch (error) {
    session.problems.count('no answer');
    session.problems.add('no answer', `${label} ${method} ${route} ${text.slice(0, 300)} → ${(error as Error).message}`);
    return 0;
  }
}

describe('chain spec and asset fuzz', () => {
  it(`answers ${FUZZ_COUNT} malformed chain specs on a live stream and ${FUZZ_COUNT} on an idle one with a 200 or a clear 4xx`, async () => {
    const live = session.background!.id;
    const total = FUZZ_COUNT * 2;
    let done = 0;
    let accepted = 0;
    await runBounded(total, 6, async (index) => {
      const input = session.input.fork(`chains #${index}`);
      // The live stream gets only transforms without detector or speech threads; the idle one stores everything it accepts.
      const onLive = index % 2 === 0;
      const stream = onLive ? live : idle;
      const kind = input.int(0, 9);
      let status: number;
      if (kind <= 5) status = await sendJson('PUT', `/v1/streams/${stream}/transforms`, chainFor(input, !onLive), `#${index}`);
      else if (kind <= 7) {
        const patch = input.mutateValue({ enabled: input.chance(0.5), params: input.pick([...SINGLE_TRANSFORM_SPECS, ...validChainSpec().transforms]).params });
        status = await sendJson('PATCH', `/v1/streams/${stream}/transforms/${input.pick(['0', '1', '5', '-1', '99', '1.5', 'NaN', '1e3', '0x1'])}`, patch, `#${index}`);
      } else if (kind === 8) status = await sendJson('PUT', `/v1/presets/${encodeLoose(input.chance(0.7) ? `fuzz ${input.int(0, 20)}` : input.string().slice(0, 90))}`, chainFor(input, true), `#${index}`);
      else status = await sendJson('POST', `/v1/streams/${stream}/transforms/preset`, input.mutateValue({ name: `fuzz ${input.int(0, 20)}` }), `#${index}`);
      if (status === 200 || status === 201) accepted++;
      if (++done === 100) await session.warmedUp();
    });
    // The live chain still answers and is a valid spec.
    const chain = await (await fetch(`${session.url}/v1/streams/${live}/transforms`, { headers: AUTH })).json();
    expect(Array.isArray((chain as { transforms?: unknown }).transforms)).toBe(true);
    console.log(`fuzz chain-assets: ${accepted} of ${total} chain changes were valid and applied`);
    expect(accepted).toBeGreaterThan(0);
    await session.finish('chain specs', total);
  }, 180_000);

  it(`answers ${FUZZ_COUNT} malformed .cube files and ${FUZZ_COUNT} malformed images with a 201 or a clear 4xx; oversized files get 413`, async () => {
    session.nextSurface();
    const cube = Buffer.from(validCube());
    const total = FUZZ_COUNT * 2;
    const statuses = new Map<string, number>();
    await runBounded(total, 6, async (index) => {
      const input = session.input.fork(`assets #${index}`);
      const isLut = index % 2 === 0;
      const route = isLut ? '/v1/luts' : '/v1/images';
      const roll = input.int(0, 9);
      let data: Buffer;
      if (roll <= 5) data = isLut ? Buffer.from(input.mutateLines(cube.toString())) : input.mutateBytes(png);
      else if (roll <= 7) data = input.mutateBytes(isLut ? cube : png);
      else if (roll === 8) data = isLut ? png : cube;
      else data = input.bytes(input.int(0, 4096));
      const extension = isLut ? '.cube' : input.pick(['.png', '.jpg', '.jpeg', '.PNG']);
      const filename = input.chance(0.85) ? `fuzz-${index % 50}${extension}` : input.chance(0.5) ? `${input.pick(TRAVERSALS)}${extension}` : `${input.string().slice(0, 200).replace(/["\r\n]/g, '')}${extension}`;
      const overwrite = input.chance(0.8) ? '?overwrite=true' : input.pick(['', '?overwrite=false', '?overwrite=yes', '?overwrite=']);
      const form = multipartBody([{ name: input.chance(0.95) ? 'file' : input.string().slice(0, 30).replace(/["\r\n]/g, ''), filename, value: data }]);
      const label = describeInput(index, `POST ${route}${overwrite} ${JSON.stringify(filename).slice(0, 120)}`, data);
      try {
        const response = await rawRequest(session.url, 'POST', `${route}${overwrite}`, { headers: { ...AUTH, 'content-type': form.contentType }, body: form.body });
        session.check(response, label);
        const code = response.status >= 400 ? (JSON.parse(response.body.toString()) as { error: { code: string } }).error.code : String(response.status);
        statuses.set(`${route} ${code}`, (statuses.get(`${route} ${code}`) ?? 0) + 1);
      } catch (error) {
        session.problems.count('no answer');
        session.problems.add('no answer', `${label} → ${(error as Error).message}`);
      }
      if (index === 100) await session.warmedUp();
    });
    console.log(`fuzz chain-assets: uploads ${[...statuses].map(([key, count]) => `${key}:${count}`).join(' ')}`);
    // The refusals name the parser's problem: both kinds of bad file were actually parsed and refused.
    expect(statuses.get('/v1/luts invalid_lut') ?? 0).toBeGreaterThan(0);
    expect(statuses.get('/v1/images invalid_image') ?? 0).toBeGreaterThan(0);
    // Oversized: one byte over each limit.
    for (const [route, name, bytes] of [['/v1/luts', 'big.cube', 32 * 1024 * 1024 + 1], ['/v1/images', 'big.png', 8 * 1024 * 1024 + 1]] as const) {
      const form = multipartBody([{ name: 'file', filename: name, value: Buffer.alloc(bytes, 0x30) }]);
      const response = await rawRequest(session.url, 'POST', route, { headers: { ...AUTH, 'content-type': form.contentType }, body: form.body });
      expect(response.status, response.body.toString()).toBe(413);
      expect(JSON.parse(response.body.toString()).error.code).toBe('file_too_large');
    }
    // The fixture LUT still lists as usable: no refused upload replaced it.
    const luts = (await (await fetch(`${session.url}/v1/luts`, { headers: AUTH })).json()) as { luts: { name: string; error?: string }[] };
    expect(luts.luts.find((lut) => lut.name === 'fuzz.cube')).toMatchObject({ name: 'fuzz.cube', size: 5 });
    await session.finish('assets', total);
  }, 180_000);
});
