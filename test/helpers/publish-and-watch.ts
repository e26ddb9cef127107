import type { CreatedStream } from './livefx-process.js';
import { WhepClient } from './whep-client.js';
import { WhipClient, type WhipPublishOptions } from './whip-client.js';

/** Publishes a test pattern to `stream` over WHIP, then starts one WHEP viewer of it; both started. */
export async function publishAndWatch(serverUrl: string, stream: CreatedStream, options: Omit<WhipPublishOptions, 'endpoint' | 'streamKey'>): Promise<{ publisher: WhipClient; viewer: WhepClient }> {
  const publisher = new WhipClient({ endpoint: `${serverUrl}/whip/${stream.id}`, streamKey: stream.streamKey, ...options });
  await publisher.start();
  const viewer = new WhepClient(`${serverUrl}/whep/${stream.id}`);
  await viewer.start();
  return { publisher, viewer };
}
