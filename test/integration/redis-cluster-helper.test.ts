import { existsSync } from 'node:fs';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { RedisKeys } from '../../src/drivers/redis/redis-keys.js';
import { describeWithRedisServer } from '../helpers/private-redis.js';
import { type PrivateRedisCluster, startRedisCluster } from '../helpers/redis-cluster.js';
import { alive } from '../helpers/supervisord.js';

// The cluster the conformance suite runs on: what it promises the suites that use it.
describeWithRedisServer('the local test cluster (test/helpers/redis-cluster.ts)', () => {
  let cluster: PrivateRedisCluster | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('spreads the slots over three masters, and keeps keys of one hash tag on one node', async () => {
    const { nodes } = cluster!;
    expect(nodes).toHaveLength(3);
    const slotOf = async (key: string) => Number((await nodes[0]!.cli(['cluster', 'keyslot', key])).stdout.trim());
    // errand's own key names for one queue (redis-keys.ts): every one must land in the same slot.
    const keys = new RedisKeys('errand:');
    const slots = await Promise.all(
      [keys.waiting('emails'), keys.reserved('emails'), `${keys.jobPrefix('emails')}1`, keys.notify('emails')].map(
        slotOf,
      ),
    );
    expect(new Set(slots).size).toBe(1);
    expect(slots[0]).not.toBe(await slotOf(keys.waiting('reports')));
    const shards = (await nodes[0]!.cli(['cluster', 'slots'])).stdout;
    for (const node of nodes) expect(shards).toContain(String(node.port));
  });

  it('stops every node and removes their directories', async () => {
    const { nodes } = cluster!;
    const pids = nodes.map((node) => node.pid);
    await cluster!.stop();
    expect(pids.filter(alive)).toEqual([]);
    expect(nodes.map((node) => node.dir).filter(existsSync)).toEqual([]);
    await cluster!.stop();
  });
});
