import { randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ProvenanceKeyStore } from './provenance-key-store.js';
import { fileDigest, manifestPathOf, signManifest, type ProvenanceManifest, type SignedManifest } from './provenance-manifest.js';

export interface ProvenanceSignerOptions {
  keys: ProvenanceKeyStore;
}

/**
 * Signs the provenance of outputs (highlights clips and reels, studio renders) with the data
 * directory's current provenance key, and writes the signed manifest beside each file.
 */
export class ProvenanceSigner {
  readonly keys: ProvenanceKeyStore;

  constructor(options: ProvenanceSignerOptions) {
    this.keys = options.keys;
  }

  /** A manifest signed by the current key (made on first use). */
  async signManifest(manifest: ProvenanceManifest): Promise<SignedManifest> {
    return signManifest(manifest, await this.keys.current());
  }

  /** The signed manifest of a finished file: `fields` (the feature's provenance) plus the file's name, SHA-256 and size. */
  async manifestFor(file: string, fields: Record<string, unknown>): Promise<SignedManifest> {
    const digest = await fileDigest(file);
    return this.signManifest({ ...fields, file: path.basename(file), sha256: digest.sha256, size: digest.size });
  }

  /** Signs a finished file's provenance and writes it to `<file>.provenance.json` (renamed into place: never half-written). */
  async writeBeside(file: string, fields: Record<string, unknown>): Promise<SignedManifest> {
    const manifest = await this.manifestFor(file, fields);
    const target = manifestPathOf(file);
    const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temporary, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(temporary, target);
    return manifest;
  }
}
