import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ProvenanceKeyStore, type ProvenancePublicKey } from '../core/provenance/provenance-key-store.js';
import { manifestPathOf, verifyManifest } from '../core/provenance/provenance-manifest.js';
import type { CliContext, CliInvocation } from './cli-command.js';
import { commandFromHelp } from './help-options.js';
import { readConfig } from './cli-config.js';
import { CliError } from './cli-errors.js';

const HELP = `usage: livefx verify <file> [--manifest m.json]

Checks that a livefx output (a highlights clip or reel, a studio render) is what livefx made: its
provenance manifest carries a valid Ed25519 signature by a known livefx key, and the file's size and
SHA-256 are those the manifest signed.

The manifest is looked for beside the file (<file>.provenance.json, then <name>.provenance.json
without the extension, then provenance.json naming the file) unless --manifest says where it is.
The public keys come from the server at LIVEFX_URL (GET /v1/provenance/key, no token needed), else
from LIVEFX_DATA_DIR/keys. Keys retired by a rotation still verify what they signed.

  --manifest <file>   the signed manifest (JSON)
  -h, --help          this text

Exit codes: 0 verified ("verified: signed by key … at …"), 1 not verified (the message says what
failed: file changed, manifest edited, unknown key or bad signature, no manifest), 2 wrong command line.`;

export const verifyCommand = commandFromHelp(HELP, runVerify, {
  summary: 'check a file against its signed provenance manifest',
  positionals: { min: 1, max: 1, names: ['file'] },
});

const exists = async (file: string): Promise<boolean> => {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
};

/** The manifest beside a file: `<file>.provenance.json`, `<name>.provenance.json`, or a `provenance.json` that names the file. */
async function findManifest(file: string): Promise<string> {
  const directory = path.dirname(file);
  const base = path.basename(file);
  const stem = base.slice(0, base.length - path.extname(base).length);
  const candidates = [manifestPathOf(file), ...(stem && stem !== base ? [path.join(directory, `${stem}.provenance.json`)] : []), path.join(directory, 'provenance.json')];
  for (const candidate of candidates) {
    if (!(await exists(candidate))) continue;
    // A folder's provenance.json may describe another of its files.
    if (path.basename(candidate) === 'provenance.json') {
      const named = (await readManifest(candidate).catch(() => undefined)) as { file?: unknown } | undefined;
      if (named?.file !== undefined && named.file !== base) continue;
    }
    return candidate;
  }
  throw new CliError(`no manifest: none of ${candidates.map((candidate) => path.basename(candidate)).join(', ')} is beside ${base} (say where it is with --manifest)`);
}

async function readManifest(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read the manifest ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`manifest edited: ${file} is not valid JSON (${(error as Error).message})`);
  }
}

/** The known public keys: the server's (LIVEFX_URL) or the data directory's. */
async function publicKeys(context: CliContext): Promise<{ keys: ProvenancePublicKey[]; from: string }> {
  const config = readConfig(context.env);
  if (config.LIVEFX_URL) {
    const url = new URL('/v1/provenance/key', config.LIVEFX_URL);
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.any([context.signal, AbortSignal.timeout(30_000)]) });
    } catch (error) {
      throw new CliError(`cannot reach the server at LIVEFX_URL=${config.LIVEFX_URL}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const body = (await response.json().catch(() => null)) as { keys?: ProvenancePublicKey[] } | null;
    if (!response.ok || !Array.isArray(body?.keys)) throw new CliError(`${url} answered HTTP ${response.status} without public keys`);
    return { keys: body.keys, from: url.toString() };
  }
  const store = new ProvenanceKeyStore({ dir: ProvenanceKeyStore.dirIn(config.LIVEFX_DATA_DIR) });
  return { keys: await store.publicKeys(), from: store.dir };
}

async function runVerify(invocation: CliInvocation, context: CliContext): Promise<number> {
  const file = path.resolve(invocation.positionals[0]!);
  if (!(await exists(file))) throw new CliError(`no such file: ${invocation.positionals[0]}`);
  const manifestFile = typeof invocation.values.manifest === 'string' ? path.resolve(invocation.values.manifest) : await findManifest(file);
  const manifest = await readManifest(manifestFile);
  const { keys, from } = await publicKeys(context);
  const result = await verifyManifest(file, manifest, keys);
  if (!result.ok) {
    const hint = result.failure === 'unknown_key' && keys.length === 0 ? ` (no public keys in ${from})` : '';
    throw new CliError(`${result.message}${hint}\n  file: ${file}\n  manifest: ${manifestFile}`);
  }
  context.stdout.write(`verified: signed by key ${result.keyId} at ${result.signedAt}${result.retired ? ' (a key retired since)' : ''}\n`);
  context.stdout.write(`  file: ${file} (${result.size} bytes, sha256 ${result.sha256})\n  manifest: ${manifestFile}\n  keys: ${from}\n`);
  return 0;
}
