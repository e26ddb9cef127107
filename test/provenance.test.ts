import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../core/provenance/canonical-json.js';
import { ProvenanceKeyStore } from '../core/provenance/provenance-key-store.js';
import { fileDigest, signManifest, verifyManifest } from '../core/provenance/provenance-manifest.js';
import { ProvenanceSigner } from '../core/provenance/provenance-signer.js';
import { ADMIN_TOKEN, adminFetch, startServer, waitFor, type RunningServer } from './helpers/livefx-process.js';
import { runBuiltCli } from './helpers/cli-run.js';
import { highlightShowEvents, makeHighlightShow } from './helpers/highlight-fixture.js';

let scratch: string;
let server: RunningServer;
let jobDir: string;
let reelFile: string;

/** `livefx verify …` as a user runs it, against the test server's public keys unless `env` says otherwise. */
const verify = (args: string[], env: Record<string, string> = {}) => runBuiltCli(['verify', ...args], { cwd: scratch, env: { LIVEFX_URL: server.url, LIVEFX_TOKEN: '', LIVEFX_DATA_DIR: path.join(scratch, 'no-data'), ...env } });

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'livefx-provenance-'));
  const [show] = await Promise.all([makeHighlightShow(scratch), (async () => (server = await startServer({ LIVEFX_LOG_LEVEL: 'warn' })))()]);
  const form = new FormData();
  form.append('media', new Blob([await readFile(show)], { type: 'video/mp4' }), 'show.mp4');
  form.append('events', JSON.stringify(highlightShowEvents()));
  const imported = await adminFetch(`${server.url}/v1/recordings`, { method: 'POST', body: form });
  const recording = (await imported.json()) as { id: string };
  expect(imported.status, JSON.stringify(recording)).toBe(201);
  const posted = await adminFetch(`${server.url}/v1/video/highlights`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ recording_id: recording.id, k: 2 }) });
  const { id } = (await posted.json()) as { id: string };
  expect(posted.status).toBe(202);
  const done = await waitFor(
    'the highlights job to finish',
    async () => {
      const job = (await (await adminFetch(`${server.url}/v1/video/highlights/${id}`)).json()) as { status: string; error: unknown };
      if (job.status === 'failed') throw new Error(`highlights job failed: ${JSON.stringify(job.error)}`);
      return job.status === 'done' ? job : undefined;
    },
    120_000,
    250,
  );
  expect(done.status).toBe('done');
  jobDir = path.join(server.dataDir, 'highlights', id);
  reelFile = path.join(jobDir, 'reel.mp4');
}, 200_000);

afterAll(async () => {
  await server?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('canonical JSON and manifest signatures', () => {
  it('serializes with sorted keys and no whitespace, whatever the order and indentation', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x', { d: 2.5, c: 'é' }], u: undefined })).toBe('{"a":[true,null,"x",{"c":"é","d":2.5}],"b":1}');
    expect(canonicalJson(JSON.parse(JSON.stringify({ z: { y: 1, x: 2 }, w: 0 }, null, 4)))).toBe(canonicalJson({ w: 0, z: { x: 2, y: 1 } }));
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/a is NaN/);
  });

  it('signs with a key made on first use (0600), verifies after re-serialization, and keeps verifying after a rotation', async () => {
    const dir = path.join(scratch, 'unit-keys');
    const store = new ProvenanceKeyStore({ dir });
    const signer = new ProvenanceSigner({ keys: store });
    const file = path.join(scratch, 'unit-output.bin');
    await writeFile(file, Buffer.from('an output file'));
    const signed = await signer.writeBeside(file, { prompt: 'a recap', seed: 7, sources: [{ recording_id: 'r1', in: 1.5, out: 9 }] });
    expect((await stat(store.privateKeyFile)).mode & 0o777).toBe(0o600);
    expect(signed).toMatchObject({ file: 'unit-output.bin', size: 14, sha256: (await fileDigest(file)).sha256, signature: { algorithm: 'Ed25519', keyId: (await store.current()).id } });
    // Another tool re-orders and re-indents the manifest: the signature still holds.
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(signed).reverse()), null, 1));
    expect(await verifyManifest(file, reordered, await store.publicKeys())).toMatchObject({ ok: true, keyId: signed.signature.keyId, retired: false });
    const rotated = await store.rotate();
    expect(rotated.id).not.toBe(signed.signature.keyId);
    expect((await store.current()).id).toBe(rotated.id);
    const keys = await store.publicKeys();
    expect(keys.map((key) => key.id)).toEqual([rotated.id, signed.signature.keyId]);
    expect(await verifyManifest(file, signed, keys)).toMatchObject({ ok: true, retired: true });
    // The time and key id are signed too: moving the signature to another time breaks it.
    const redated = { ...signed, signature: { ...signed.signature, signedAt: '2020-01-01T00:00:00.000Z' } };
    expect(await verifyManifest(file, redated, keys)).toMatchObject({ ok: false, failure: 'bad_signature' });
    expect(await verifyManifest(file, { ...signed, signature: undefined }, keys)).toMatchObject({ ok: false, failure: 'not_signed' });
  });
});

describe('the key store', () => {
  it('makes exactly one key when two processes start on an empty data directory at once', async () => {
    const dir = path.join(scratch, 'racing-keys');
    const stores = Array.from({ length: 4 }, () => new ProvenanceKeyStore({ dir }));
    const keys = await Promise.all(stores.map((store) => store.current()));
    expect(new Set(keys.map((key) => key.id)).size).toBe(1);
    expect((await stores[0]!.publicKeys()).map((key) => key.id)).toEqual([keys[0]!.id]);
  });

  it('never makes a key when only asked for the public keys (verifying must not create one)', async () => {
    const store = new ProvenanceKeyStore({ dir: path.join(scratch, 'untouched-keys') });
    expect(await store.publicKeys()).toEqual([]);
    await expect(stat(store.privateKeyFile)).rejects.toThrow(/ENOENT/);
  });
});

describe('signed highlights outputs', () => {
  it('publishes the public keys without a token and keeps the private key 0600 in the data directory', async () => {
    const response = await fetch(`${server.url}/v1/provenance/key`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { current: string; keys: { id: string; algorithm: string; publicKey: string }[] };
    expect(body.keys[0]).toMatchObject({ id: body.current, algorithm: 'Ed25519' });
    expect(body.keys[0]!.publicKey).toContain('BEGIN PUBLIC KEY');
    expect((await stat(path.join(server.dataDir, 'keys', 'provenance-ed25519.pem'))).mode & 0o777).toBe(0o600);
    const manifest = JSON.parse(await readFile(`${reelFile}.provenance.json`, 'utf8'));
    expect(manifest.signature.keyId).toBe(body.current);
    // Extended, not replaced: the highlights fields are all still there.
    expect(manifest).toMatchObject({ aiEdited: true, strategy: 'engagement_topk', seed: 42, file: 'reel.mp4', size: (await stat(reelFile)).size });
  });

  it('verifies the reel and every clip of a highlights job, with keys from the server or from the data directory', async () => {
    const good = await verify([reelFile]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/^verified: signed by key [0-9a-f]{16} at \d{4}-\d\d-\d\dT/);
    for (const clip of ['clip-1.mp4', 'clip-1.jpg']) {
      const run = await verify([path.join(jobDir, clip)]);
      expect(run.code, `${clip}: ${run.stderr}`).toBe(0);
    }
    const local = await verify([reelFile], { LIVEFX_URL: '', LIVEFX_DATA_DIR: server.dataDir });
    expect(local.code, local.stderr).toBe(0);
    expect(local.stdout).toContain(path.join(server.dataDir, 'keys'));
  });

  it('fails with exit 1 naming the problem: one flipped byte, an edited manifest, another key, no manifest', async () => {
    const copy = path.join(scratch, 'reel-copy.mp4');
    await copyFile(reelFile, copy);
    await copyFile(`${reelFile}.provenance.json`, `${copy}.provenance.json`);
    const manifest = JSON.parse(await readFile(`${copy}.provenance.json`, 'utf8'));
    expect((await verify([copy])).code, 'the untouched copy verifies (a renamed file keeps its manifest)').toBe(0);

    const bytes = await readFile(copy);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await writeFile(copy, bytes);
    const flipped = await verify([copy]);
    expect(flipped.code).toBe(1);
    expect(flipped.stderr).toMatch(/file changed: reel-copy\.mp4 has sha256 [0-9a-f]{64}, the signed manifest says [0-9a-f]{64}/);
    await copyFile(reelFile, copy);

    const editedFile = path.join(scratch, 'edited.provenance.json');
    await writeFile(editedFile, JSON.stringify({ ...manifest, seed: 43 }, null, 2));
    const edited = await verify([copy, '--manifest', editedFile]);
    expect(edited.code).toBe(1);
    expect(edited.stderr).toContain(`bad signature: the manifest was edited after key ${manifest.signature.keyId} signed it`);

    const stranger = new ProvenanceKeyStore({ dir: path.join(scratch, 'another-server-keys') });
    const foreign = signManifest(manifest, await stranger.current());
    const foreignFile = path.join(scratch, 'foreign.provenance.json');
    await writeFile(foreignFile, JSON.stringify(foreign));
    const other = await verify([copy, '--manifest', foreignFile]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(`unknown key ${foreign.signature.keyId}: the manifest is signed by a key that is none of the`);

    const lonely = path.join(scratch, 'no-manifest.mp4');
    await copyFile(reelFile, lonely);
    const missing = await verify([lonely]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no manifest: none of no-manifest.mp4.provenance.json, no-manifest.provenance.json, provenance.json is beside no-manifest.mp4');

    const usage = await verify([]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('missing <file>');
    expect((await verify([copy, '--manifets', 'x'])).code).toBe(2);
  });

  it('rotates the key (admin only): new outputs name the new key, old ones still verify', async () => {
    const before = (await (await fetch(`${server.url}/v1/provenance/key`)).json()) as { current: string };
    expect((await fetch(`${server.url}/v1/provenance/key/rotate`, { method: 'POST' })).status).toBe(401);
    const operator = (await (await adminFetch(`${server.url}/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ role: 'operator' }) })).json()) as { token: string };
    expect((await fetch(`${server.url}/v1/provenance/key/rotate`, { method: 'POST', headers: { authorization: `Bearer ${operator.token}` } })).status).toBe(403);
    const rotated = await fetch(`${server.url}/v1/provenance/key/rotate`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const body = (await rotated.json()) as { rotated: string; current: string; keys: { id: string; retiredAt?: string }[] };
    expect(rotated.status).toBe(200);
    expect(body.current).toBe(body.rotated);
    expect(body.current).not.toBe(before.current);
    expect(body.keys.find((key) => key.id === before.current)?.retiredAt).toBeTruthy();
    const old = await verify([reelFile]);
    expect(old.code, old.stderr).toBe(0);
    expect(old.stdout).toContain(`signed by key ${before.current}`);
    expect(old.stdout).toContain('(a key retired since)');
  });

  it('shows and rotates the key from the CLI on a data directory', async () => {
    const dataDir = path.join(scratch, 'cli-data');
    const env = { LIVEFX_URL: '', LIVEFX_DATA_DIR: dataDir };
    const shown = await runBuiltCli(['provenance-key', '--json'], { cwd: scratch, env });
    expect(shown.code, shown.stderr).toBe(0);
    const first = JSON.parse(shown.stdout) as { current: string; keys: { id: string }[] };
    expect(first.keys.map((key) => key.id)).toEqual([first.current]);
    const rotated = await runBuiltCli(['provenance-key', '--rotate'], { cwd: scratch, env });
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stderr).toMatch(/^rotated: new signing key [0-9a-f]{16}/);
    const after = JSON.parse((await runBuiltCli(['provenance-key', '--json'], { cwd: scratch, env })).stdout) as { current: string; keys: { id: string }[] };
    expect(after.current).not.toBe(first.current);
    expect(after.keys.map((key) => key.id)).toEqual([after.current, first.current]);
  });
});
