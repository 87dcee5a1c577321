import { afterAll, beforeAll, expect, it } from 'vitest';

import type { RedisConnectionConfig, ResolvedRedisConnection } from '../../src/config/config-types.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import type { FailedJobRecord, FailedJobStore } from '../../src/contracts/failed-job-store.js';
import type { WorkerRegistration } from '../../src/contracts/worker-queue.js';
import { openRedisClient, type RedisClient } from '../../src/drivers/redis/redis-client.js';
import { RedisQueue } from '../../src/drivers/redis/redis-queue.js';
import { SWEEP_WORKERS } from '../../src/drivers/redis/scripts/sweep-workers.js';
import { TAKE_BACK } from '../../src/drivers/redis/scripts/take-back.js';
import { describeOnRedis, dropRedisKeys, REDIS_TEST_URL, redisTestPrefix } from '../helpers/databases.js';

// Lease bookkeeping of the redis driver that the conformance suite cannot reach through the
// WorkerQueue contract: a sweep's take-back racing a worker that registered again.

/** A RedisQueue on its own key prefix, with `extra` settings. */
function openQueue(prefix: string, extra: Partial<RedisConnectionConfig> = {}): RedisQueue {
  const config = resolveConfig(
    { connections: { jobs: { driver: 'redis', url: REDIS_TEST_URL, prefix, ...extra } } },
    { env: {} },
  ).connections.jobs as ResolvedRedisConnection;
  return new RedisQueue('jobs', openRedisClient(config, 'jobs'), config);
}

async function serverMs(client: RedisClient): Promise<number> {
  const [seconds, micros] = (await client.command(['TIME'])) as [string, string];
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

function registration(id: string): WorkerRegistration {
  return { id, name: 'leases', connection: 'jobs', queues: ['q'], hostname: 'test', pid: 1, concurrency: 1 };
}

await describeOnRedis('redis leases', () => {
  const prefix = redisTestPrefix('redis-leases');
  const queues: RedisQueue[] = [];
  let client: RedisClient;

  beforeAll(() => {
    client = openQueue(prefix).client;
  });

  afterAll(async () => {
    await Promise.all(queues.map((queue) => queue.close()));
    await client.close();
    await dropRedisKeys(prefix);
  });

  function queueOn(extra: Partial<RedisConnectionConfig> = {}): RedisQueue {
    const queue = openQueue(`${prefix}${queues.length}:`, extra);
    queues.push(queue);
    return queue;
  }

  it("a sweep's late take-back leaves a claim made after the worker registered again", async () => {
    const queue = queueOn();
    const { keys } = queue;
    const worker = registration('worker-a');
    await queue.registerWorker(worker);
    const before = await queue.push({ queue: 'q', payload: 'before' });
    const [old] = await queue.claim('q', 1, worker.id);
    expect(old?.id).toBe(before);
    // The worker falls silent, and its claim is older than the sweep that finds it dead.
    await client.command(['ZADD', keys.workers, '0', worker.id], keys.workers);
    await client.command(['HSET', keys.jobPrefix('q') + before, 'claimed', '0'], keys.jobPrefix('q'));
    const swept = (await client.run(SWEEP_WORKERS, [keys.workers], [keys.connection, ''])) as unknown[];
    expect(swept.slice(1).map(String)).toEqual([worker.id, '1', 'q']);

    // Before the sweeper takes its jobs back, the worker beats again, registers, and claims anew
    // (in a later millisecond of the server's clock than the sweep, as any real round trip is).
    while ((await serverMs(client)) <= Number(swept[0])) await new Promise((resolve) => setImmediate(resolve));
    await queue.registerWorker(worker);
    const after = await queue.push({ queue: 'q', payload: 'after' });
    const [fresh] = await queue.claim('q', 1, worker.id);
    expect(fresh?.id).toBe(after);

    const taken = await client.run(
      TAKE_BACK,
      [keys.waiting('q'), keys.reserved('q'), keys.notify('q')],
      [keys.jobPrefix('q'), worker.id, 16, Number(swept[0])],
    );
    expect(Number(taken)).toBe(1);
    expect(await queue.delete(fresh!)).toBe(true);
    const [again] = await queue.claim('q', 1, 'worker-b');
    expect(again?.id).toBe(before);
  });

  it('a claimed-queues set expires: on each claim without heartbeats, on each beat with them', async () => {
    const quiet = queueOn({ heartbeat: false, retryAfter: 30 });
    await quiet.push({ queue: 'q', payload: 'x' });
    await quiet.claim('q', 1, 'worker-quiet');
    const set = quiet.keys.claimed('worker-quiet');
    const ttl = Number(await client.command(['PTTL', set], set));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);

    const beating = queueOn({ heartbeat: { interval: 1, lapse: 5 }, retryAfter: 30 });
    const worker = registration('worker-beating');
    await beating.registerWorker(worker);
    await beating.push({ queue: 'q', payload: 'y' });
    await beating.claim('q', 1, worker.id);
    const beatingSet = beating.keys.claimed(worker.id);
    expect(Number(await client.command(['PTTL', beatingSet], beatingSet))).toBe(-1);
    expect(await beating.heartbeat(worker.id, [])).toBe(true);
    const beatTtl = Number(await client.command(['PTTL', beatingSet], beatingSet));
    expect(beatTtl).toBeGreaterThan(0);
    expect(beatTtl).toBeLessThanOrEqual(35_000);
  });

  it('a claim whose token could not be listed hands its jobs back and says why', async () => {
    const queue = queueOn();
    const id = await queue.push({ queue: 'q', payload: 'x' });
    // The claimed-queues set's key holds a string: the SADD beside the claim fails.
    const set = queue.keys.claimed('worker-c');
    await client.command(['SET', set, 'not a set'], set);
    await expect(queue.claim('q', 1, 'worker-c')).rejects.toThrow(/WRONGTYPE/);
    const [job] = await queue.claim('q', 1, 'worker-d');
    expect(job?.id).toBe(id);
    expect(job?.attempts).toBe(1);
  });

  it('a claim that empties a queue leaves no wake-up tokens behind', async () => {
    const queue = queueOn();
    await queue.bulk([
      { queue: 'q', payload: 'a' },
      { queue: 'q', payload: 'b' },
    ]);
    const notify = queue.keys.notify('q');
    expect(Number(await client.command(['LLEN', notify], notify))).toBeGreaterThan(0);
    expect(await queue.claim('q', 1, 'worker-e')).toHaveLength(1);
    // One job still waits: its token stays for another worker.
    expect(Number(await client.command(['EXISTS', notify], notify))).toBe(1);
    expect(await queue.claim('q', 5, 'worker-e')).toHaveLength(1);
    expect(Number(await client.command(['EXISTS', notify], notify))).toBe(0);
  });

  it('fail() with finishing writes checks the lease once', async () => {
    const queue = queueOn();
    await queue.push({ queue: 'q', payload: 'x' });
    const [job] = await queue.claim('q', 1, 'worker-f');
    const sent: string[] = [];
    const inner = queue.client;
    const counting: RedisClient = {
      cluster: inner.cluster,
      address: inner.address,
      run: (script, keys, args) => inner.run(script, keys, args),
      command: (args, key) => {
        sent.push(args[0]!);
        return inner.command(args, key);
      },
      commandOnEachNode: (args) => inner.commandOnEachNode(args),
      duplicate: () => inner.duplicate(),
      close: async () => {},
    };
    const watched = new RedisQueue('jobs', counting, queue.config);
    const logged: unknown[] = [];
    const store = { log: async (record: unknown) => void logged.push(record) } as unknown as FailedJobStore;
    expect(await watched.fail(job!, {} as FailedJobRecord, store, async () => {})).toBe(true);
    expect(logged).toHaveLength(1);
    expect(sent.filter((name) => name === 'HMGET')).toHaveLength(1);
  });
});
