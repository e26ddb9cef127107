import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from './canonical-json.js';
import type { ProvenancePublicKey, ProvenanceSigningKey } from './provenance-key-store.js';

/** What signs a manifest: the signature block without its value is signed too, so key id and time cannot be swapped. */
export interface ManifestSignature {
  algorithm: 'Ed25519';
  keyId: string;
  signedAt: string;
  /** Base64 of the Ed25519 signature over the canonical JSON of the manifest with this field left out. */
  value: string;
}

/** The provenance of one output file: its name, SHA-256 and size, plus whatever the feature records about how it was made. */
export interface ProvenanceManifest {
  file: string;
  sha256: string;
  size: number;
  [field: string]: unknown;
}

export interface SignedManifest extends ProvenanceManifest {
  signature: ManifestSignature;
}

export type VerifyFailure = 'malformed' | 'not_signed' | 'unknown_key' | 'bad_signature' | 'file_changed';

export type VerifyResult =
  | { ok: true; keyId: string; signedAt: string; sha256: string; size: number; retired: boolean }
  | { ok: false; failure: VerifyFailure; message: string };

/** The bytes a signature covers: every field but `signature.value`, canonically serialized. */
export function signingPayload(manifest: ProvenanceManifest, signature: Omit<ManifestSignature, 'value'>): Buffer {
  const { signature: _ignored, ...fields } = manifest as ProvenanceManifest & { signature?: unknown };
  return Buffer.from(canonicalJson({ ...fields, signature: { algorithm: signature.algorithm, keyId: signature.keyId, signedAt: signature.signedAt } }), 'utf8');
}

/** Signs a manifest with a key (replacing any signature it had). */
export function signManifest(manifest: ProvenanceManifest, key: Pick<ProvenanceSigningKey, 'id' | 'privateKey'>, at: Date = new Date()): SignedManifest {
  const header = { algorithm: 'Ed25519' as const, keyId: key.id, signedAt: at.toISOString() };
  const value = sign(null, signingPayload(manifest, header), key.privateKey).toString('base64');
  const { signature: _old, ...fields } = manifest as ProvenanceManifest & { signature?: unknown };
  return { ...fields, signature: { ...header, value } } as SignedManifest;
}

/** SHA-256 (hex) and size of a file, read as a stream (outputs may be large). */
export async function fileDigest(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** The manifest of an output file as stored beside it: `<file>.provenance.json`. */
export function manifestPathOf(file: string): string {
  return `${file}.provenance.json`;
}

const fail = (failure: VerifyFailure, message: string): VerifyResult => ({ ok: false, failure, message });

/**
 * Checks a manifest against the file it describes: the signature first (an edited manifest's claims
 * mean nothing), by the public key it names among `publicKeys`, then the file's size and SHA-256.
 */
export async function verifyManifest(file: string, manifest: unknown, publicKeys: readonly Pick<ProvenancePublicKey, 'id' | 'publicKey' | 'retiredAt'>[]): Promise<VerifyResult> {
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) return fail('malformed', 'the manifest is not a JSON object');
  const candidate = manifest as Partial<SignedManifest>;
  if (candidate.signature === undefined) return fail('not_signed', 'the manifest is not signed (it has no "signature")');
  const signature = candidate.signature as Partial<ManifestSignature> | null;
  if (!signature || typeof signature !== 'object' || typeof signature.keyId !== 'string' || typeof signature.value !== 'string' || typeof signature.signedAt !== 'string') {
    return fail('malformed', 'the manifest\'s "signature" is malformed: it needs algorithm, keyId, signedAt and value');
  }
  if (signature.algorithm !== 'Ed25519') return fail('malformed', `the manifest is signed with "${String(signature.algorithm)}"; only Ed25519 is known`);
  if (typeof candidate.sha256 !== 'string' || typeof candidate.size !== 'number') return fail('malformed', 'the manifest names no sha256 and size of its file');
  const known = publicKeys.find((key) => key.id === signature.keyId);
  if (!known) {
    return fail('unknown_key', `unknown key ${signature.keyId}: the manifest is signed by a key that is none of the ${publicKeys.length} known public key${publicKeys.length === 1 ? '' : 's'} (another server's key, or not a livefx signature)`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(known.publicKey);
  } catch {
    return fail('malformed', `public key ${known.id} cannot be read`);
  }
  let payload: Buffer;
  try {
    payload = signingPayload(candidate as ProvenanceManifest, { algorithm: 'Ed25519', keyId: signature.keyId, signedAt: signature.signedAt });
  } catch (error) {
    return fail('malformed', `the manifest cannot be serialized: ${(error as Error).message}`);
  }
  if (!verify(null, payload, publicKey, Buffer.from(signature.value, 'base64'))) {
    return fail('bad_signature', `bad signature: the manifest was edited after key ${signature.keyId} signed it (its contents no longer match the signature)`);
  }
  const name = path.basename(file);
  const info = await stat(file);
  if (info.size !== candidate.size) {
    return fail('file_changed', `file changed: ${name} is ${info.size} bytes, the signed manifest says ${candidate.size}`);
  }
  const actual = await fileDigest(file);
  if (actual.sha256 !== candidate.sha256) {
    return fail('file_changed', `file changed: ${name} has sha256 ${actual.sha256}, the signed manifest says ${candidate.sha256}`);
  }
  return { ok: true, keyId: signature.keyId, signedAt: signature.signedAt, sha256: actual.sha256, size: actual.size, retired: known.retiredAt !== undefined };
}
