import type { FastifyInstance } from 'fastify';
import type { ProvenanceKeyStore, ProvenancePublicKey } from '../../core/provenance/provenance-key-store.js';

/** GET /v1/provenance/key: what a verifier needs, public. */
export interface ProvenanceKeysView {
  /** The id of the key that signs now. */
  current: string;
  /** Every key that ever signed, the current one first; retired ones carry `retiredAt`. */
  keys: ProvenancePublicKey[];
}

async function keysView(keys: ProvenanceKeyStore): Promise<ProvenanceKeysView> {
  const current = await keys.current();
  return { current: current.id, keys: await keys.publicKeys() };
}

/** The provenance public keys (public, no token) and their rotation (admin). */
export function registerProvenanceRoutes(app: FastifyInstance, keys: ProvenanceKeyStore): void {
  app.get('/v1/provenance/key', async () => keysView(keys));
  app.post('/v1/provenance/key/rotate', async () => {
    const rotated = await keys.rotate();
    return { rotated: rotated.id, ...(await keysView(keys)) };
  });
}
