import type { CliContext, CliInvocation } from './cli-command.js';
import { commandFromHelp } from './help-options.js';
import { readConfig } from './cli-config.js';
import { ProvenanceKeyStore } from '../core/provenance/provenance-key-store.js';

const HELP = `usage: livefx provenance-key [--rotate] [--json]

Shows the provenance signing key of the data directory LIVEFX_DATA_DIR (made on first use): its id
and public key, and the public keys retired by earlier rotations, which still verify what they signed.

  --rotate     replace the signing key with a new one (the old private key is deleted; a running
               server signs with the new one from its next output)
  --json       print { current, keys } as JSON (the answer of GET /v1/provenance/key)
  -h, --help   this text

Exit codes: 0 done, 1 failed (the message says why), 2 wrong command line.`;

export const provenanceKeyCommand = commandFromHelp(HELP, runProvenanceKey, {
  summary: 'show or rotate the provenance signing key of LIVEFX_DATA_DIR',
});

async function runProvenanceKey(invocation: CliInvocation, context: CliContext): Promise<number> {
  const config = readConfig(context.env);
  const store = new ProvenanceKeyStore({ dir: ProvenanceKeyStore.dirIn(config.LIVEFX_DATA_DIR) });
  const rotated = invocation.values.rotate === true ? await store.rotate() : undefined;
  const current = await store.current();
  const keys = await store.publicKeys();
  if (invocation.values.json === true) {
    context.stdout.write(`${JSON.stringify({ current: current.id, keys, ...(rotated ? { rotated: rotated.id } : {}) }, null, 2)}\n`);
    return 0;
  }
  if (rotated) context.stderr.write(`rotated: new signing key ${rotated.id}; the old one is retired (what it signed still verifies)\n`);
  context.stdout.write(`current key ${current.id} (Ed25519, since ${current.createdAt}), private key ${store.privateKeyFile}\n`);
  for (const key of keys) context.stdout.write(`\n${key.id}${key.id === current.id ? ' (current)' : ` (retired ${key.retiredAt ?? ''})`}\n${key.publicKey.trimEnd()}\n`);
  return 0;
}
