import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisStreamDirectory } from '../core/redis-stream-directory.js';
import { startRedis, type RunningRedis } from './helpers/redis-server.js';
import { waitFor } from './helpers/livefx-process.js';

// Two nodes' directories on one real Redis: one owner per stream, and only the owner refreshes or releases it.
let redis: RunningRedis;
let client: Redis;
let nodeA: RedisStreamDirectory;
let nodeB: RedisStreamDirectory;

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
  nodeA = new RedisStreamDirectory({ redis: client, nodeId: 'node-a', claimTtlMs: 3000 });
  nodeB = new RedisStreamDirectory({ redis: client, nodeId: 'node-b', claimTtlMs: 3000 });
}, 30_000);

afterAll(async () => {
  client?.disconnect();
  await redis?.close();
});

describe('RedisStreamDirectory', () => {
  it('gives a stream to the first claim, refuses the others, and lets only the owner release it', async () => {
    const first = await nodeA.claim('s1');
    expect(first).toMatchObject({ claimed: true, location: { streamId: 's1', nodeId: 'node-a' } });
    expect(await nodeB.claim('s1')).toMatchObject({ claimed: false, owner: { streamId: 's1', nodeId: 'node-a' } });
    // Claiming an own stream again is a success.
    expect(await nodeA.claim('s1')).toMatchObject({ claimed: true, location: { nodeId: 'node-a' } });
    await nodeB.release('s1');
    expect(await nodeB.lookup('s1')).toMatchObject({ nodeId: 'node-a' });
    await nodeA.release('s1');
    expect(await nodeB.lookup('s1')).toBeUndefined();
    expect(await nodeB.claim('s1')).toMatchObject({ claimed: true, location: { nodeId: 'node-b' } });
    await nodeB.release('s1');
  });

  it('keeps a claim its owner refreshes, lets an unrefreshed one lapse, and lists claims in claim order', async () => {
    await nodeA.claim('kept');
    await nodeA.claim('lapsing');
    await nodeB.claim('other');
    expect((await nodeA.list()).map((location) => `${location.streamId}@${location.nodeId}`)).toEqual(['kept@node-a', 'lapsing@node-a', 'other@node-b']);
    // node-b refreshing node-a's claim changes nothing: it still lapses unless node-a refreshes it.
    const refresher = setInterval(() => void nodeA.refresh(['kept']).then(() => nodeB.refresh(['lapsing', 'other'])), 300);
    try {
      await waitFor('the unrefreshed claim to lapse', async () => (await nodeA.lookup('lapsing')) === undefined, 15_000, 100);
      expect(await nodeA.lookup('kept')).toMatchObject({ nodeId: 'node-a' });
      expect(await nodeA.lookup('other')).toMatchObject({ nodeId: 'node-b' });
      expect((await nodeA.list()).map((location) => location.streamId)).toEqual(['kept', 'other']);
    } finally {
      clearInterval(refresher);
    }
  }, 30_000);

  it("renews its owner's live streams: a claim that lapsed during a Redis pause is taken back, one another node took is reported lost", async () => {
    await nodeA.claim('paused');
    await nodeA.claim('taken');
    // What a Redis pause longer than the TTL leaves: both claims lapsed, and node-b claimed one in between.
    await client.del('livefx:stream-owner:paused', 'livefx:stream-owner:taken');
    expect(await nodeB.claim('taken')).toMatchObject({ claimed: true });
    expect(await nodeA.renew(['paused', 'taken'])).toEqual(['taken']);
    expect(await nodeB.lookup('paused')).toMatchObject({ nodeId: 'node-a' });
    expect(await nodeA.lookup('taken')).toMatchObject({ nodeId: 'node-b' });
    expect((await nodeB.list()).map((claim) => claim.streamId)).toEqual(expect.arrayContaining(['paused', 'taken']));
    // Renewing extends the claim: it outlives its first TTL while renewed.
    const renewer = setInterval(() => void nodeA.renew(['paused']), 300);
    try {
      await new Promise((resolve) => setTimeout(resolve, 3500));
      expect(await nodeB.lookup('paused')).toMatchObject({ nodeId: 'node-a' });
    } finally {
      clearInterval(renewer);
    }
    await nodeA.release('paused');
    await nodeB.release('taken');
  }, 30_000);
});
