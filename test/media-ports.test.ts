// A node's WebRTC media ports and advertised address, as the cluster guide sets them: the SDP answer a
// publisher gets names only that UDP range and offers the public address, and media flows over it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WhipClient } from './helpers/whip-client.js';
import { createStream, startServer, waitFor, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';

// 127.0.0.2 is loopback too on Linux (all of 127/8): an address other than the default 127.0.0.1 that still reaches this machine.
const PUBLIC_ADDRESS = '127.0.0.2';
// Below Linux's ephemeral range (32768–60999), so no port the OS hands out elsewhere in the suite sits in it.
const FIRST_PORT = 21_000 + (process.pid % 400) * 20;
const LAST_PORT = FIRST_PORT + 19;

let server: RunningServer;
let publisher: WhipClient | undefined;

beforeAll(async () => {
  server = await startServer({ LIVEFX_UDP_PORTS: `${FIRST_PORT}-${LAST_PORT}`, LIVEFX_PUBLIC_ADDRESS: PUBLIC_ADDRESS });
}, 60_000);

afterAll(async () => {
  await publisher?.stop();
  await server?.stop();
});

describe('media ports and public address (LIVEFX_UDP_PORTS, LIVEFX_PUBLIC_ADDRESS)', () => {
  it('answers with candidates only in the UDP range, the public address among them, and the stream goes live over them', async () => {
    const stream = await createStream(server.url, 'ports');
    let answer = '';
    publisher = new WhipClient({
      endpoint: `${server.url}/whip/${stream.id}`,
      streamKey: stream.streamKey,
      width: 320,
      height: 240,
      sdpRewrite: { answer: (sdp) => (answer = sdp) },
    });
    await publisher.start();
    const candidates = [...answer.matchAll(/^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ host/gim)].map((match) => ({ address: match[1]!, port: Number(match[2]) }));
    expect(candidates.length, answer).toBeGreaterThan(0);
    expect(candidates.map((candidate) => candidate.address)).toContain(PUBLIC_ADDRESS);
    for (const { port } of candidates) {
      expect(port).toBeGreaterThanOrEqual(FIRST_PORT);
      expect(port).toBeLessThanOrEqual(LAST_PORT);
    }
    await waitFor('the stream live with frames', async () => {
      const view = (await (await fetch(`${server.url}/v1/streams/${stream.id}`)).json()) as { state: string; stats: { fpsIn: number } };
      return view.state === 'live' && view.stats.fpsIn > 0 ? true : undefined;
    }, 30_000, 250);
  }, 90_000);
});
