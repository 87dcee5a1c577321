import { existsSync } from 'node:fs';

import { afterAll, beforeAll, expect, it } from 'vitest';

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
    expect(await slotOf('errand:{emails}:ready')).toBe(await slotOf('errand:{emails}:job:1'));
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
