// The depth gauges (decisions 0075, 0076) on every store: seeded queues give exact gauge values,
// one sampler at a time holds the lease and another takes over when it stops or loses it, counts
// stop at the cap, queues that disappear lose their series, and a connection that cannot be read
// is named in the report and left out rather than shown as zeros.
import { randomUUID } from 'node:crypto';

import { Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import { createDashboard } from '../../src/dashboard/create-dashboard.js';
import { DatabaseQueue } from '../../src/drivers/database/database-queue.js';
import { RedisQueue } from '../../src/drivers/redis/redis-queue.js';
import { DepthSampleError } from '../../src/index.js';
import { type DepthGauges, registerDepthGauges } from '../../src/metrics/depth-gauges.js';
import { METRIC } from '../../src/metrics/metric-names.js';
import { DEPTH_SAMPLER_LOCK } from '../../src/metrics/sampler-lease.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { bootedRuntime, type ErrandRuntime, runtime, setRuntime, settleTracked } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import {
  describeEachEngine,
  freshDatabase,
  freshStore,
  storeConnections,
  type TestStore,
} from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';
import { parseExposition } from '../helpers/exposition.js';

type Labels = Record<string, string>;

/** Every series of one family as `label=value,…` → value, sorted by key. */
async function series(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return {};
  const { values } = await metric.get();
  const entries = values.map(({ labels, value }) => {
    const key = Object.entries(labels as Labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    return [key, value] as const;
  });
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}

/** Only the series of `connection`. */
function of(connection: string, all: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(all).filter(([key]) => key.includes(`connection=${connection}`)));
}

const payload = (name: string) =>
  JSON.stringify({
    uuid: randomUUID(),
    displayName: name,
    job: 'errand:CallQueuedHandler@call',
    data: { commandName: name },
  });

/** Moves when a job became available `seconds` earlier, on the store's own clock. */
async function backdateJob(queue: WorkerQueue, queueName: string, id: string, seconds: number): Promise<void> {
  if (queue instanceof RedisQueue) {
    const key = queue.keys.waiting(queueName);
    const score = Number(await queue.client.command(['ZSCORE', key, id], key));
    await queue.client.command(['ZADD', key, 'XX', String(score - seconds * 1000), id], key);
    return;
  }
  if (!(queue instanceof DatabaseQueue)) throw new Error('a database or redis queue');
  await queue
    .knex(queue.table)
    .where({ id })
    .update({ available_at: queue.knex.raw('available_at - ?', [seconds]) });
}

/** Moves a worker's presumed-dead time by `seconds` (negative: later). */
async function backdateWorker(queue: WorkerQueue, id: string, seconds: number): Promise<void> {
  if (queue instanceof RedisQueue) {
    const key = queue.keys.workers;
    await queue.client.command(['ZINCRBY', key, String(-seconds * 1000), id], key);
    return;
  }
  if (!(queue instanceof DatabaseQueue)) throw new Error('a database or redis queue');
  await queue
    .knex(queue.config.workersTable)
    .where({ id })
    .update({ expires_at: queue.knex.raw('expires_at - ?', [seconds]) });
}

await describeEachEngine('the depth gauges', (engine) => {
  let store: TestStore;
  let connection: string;
  const gauges: DepthGauges[] = [];
  const reported: unknown[] = [];

  const bootStore = () =>
    boot({ default: store.default, connections: storeConnections(store), report: (error) => reported.push(error) });
  const register = (registry: Registry, options: Parameters<typeof registerDepthGauges>[1] = {}) => {
    const handle = registerDepthGauges(registry, { timer: false, ...options });
    gauges.push(handle);
    return handle;
  };

  beforeAll(async () => {
    store = await freshStore(engine, 'depth_gauges');
    connection = store.default;
    await bootStore();
    await runMigrations();
    const app = await runtime();
    const queue = app.queues.worker();
    // 50 pending on `gauged`, the first made available 120 s ago; 5 delayed beside them.
    const ids = await queue.bulk(
      Array.from({ length: 50 }, () => ({ queue: 'gauged', payload: payload('SendEmail') })),
    );
    await backdateJob(queue, 'gauged', ids[0]!, 120);
    await queue.bulk(Array.from({ length: 5 }, () => ({ queue: 'gauged', payload: payload('SendEmail'), delay: 600 })));
    // 4 on `busy`, 3 of them held by a live worker on gauge-host.
    await queue.bulk(Array.from({ length: 4 }, () => ({ queue: 'busy', payload: payload('Charge') })));
    const worker = { name: 'depth', connection, pid: 4242, concurrency: 5 };
    await queue.registerWorker({
      ...worker,
      id: 'live-worker',
      queues: ['busy', 'served-only'],
      hostname: 'gauge-host',
    });
    await queue.registerWorker({ ...worker, id: 'lost-worker', queues: ['busy'], hostname: 'lost-host' });
    await backdateWorker(queue, 'live-worker', -3600);
    await backdateWorker(queue, 'lost-worker', 600);
    expect(await queue.claim('busy', 3, 'live-worker')).toHaveLength(3);
    // A paused queue holding 2.
    await queue.bulk([
      { queue: 'halted', payload: payload('SendEmail') },
      { queue: 'halted', payload: payload('SendEmail') },
    ]);
    await queue.pause('halted');
    // Failed jobs: 4 of `gauged`, 1 of `busy`, and one of a connection that is not sampled.
    const failer = app.queues.failer();
    const fail = (queueName: string, on = connection) =>
      failer.log({
        uuid: randomUUID(),
        connection: on,
        queue: queueName,
        payload: payload('Charge'),
        exception: 'Error: boom',
      });
    for (let i = 0; i < 4; i++) await fail('gauged');
    await fail('busy');
    await fail('gauged', 'elsewhere');
  });
  beforeEach(async () => {
    reported.length = 0;
    const app = await runtime();
    await app.queues.locks().forceRelease(DEPTH_SAMPLER_LOCK);
  });
  afterAll(async () => {
    for (const handle of gauges) handle.stop();
    await shutdown();
  });

  it('shows exact counts by state, the oldest pending age, paused, failed jobs, live workers and busy slots', async () => {
    const registry = new Registry();
    const depth = register(registry, { connections: [connection] });
    await depth.sampleNow();
    expect(await series(registry, METRIC.queueJobs)).toEqual({
      [`connection=${connection},queue=busy,state=delayed`]: 0,
      [`connection=${connection},queue=busy,state=pending`]: 1,
      [`connection=${connection},queue=busy,state=reserved`]: 3,
      [`connection=${connection},queue=gauged,state=delayed`]: 5,
      [`connection=${connection},queue=gauged,state=pending`]: 50,
      [`connection=${connection},queue=gauged,state=reserved`]: 0,
      [`connection=${connection},queue=halted,state=delayed`]: 0,
      [`connection=${connection},queue=halted,state=pending`]: 2,
      [`connection=${connection},queue=halted,state=reserved`]: 0,
      [`connection=${connection},queue=served-only,state=delayed`]: 0,
      [`connection=${connection},queue=served-only,state=pending`]: 0,
      [`connection=${connection},queue=served-only,state=reserved`]: 0,
    });
    const ages = await series(registry, METRIC.oldestPendingAge);
    expect(Object.keys(ages)).toEqual(
      ['busy', 'gauged', 'halted', 'served-only'].map((queue) => `connection=${connection},queue=${queue}`),
    );
    expect(ages[`connection=${connection},queue=gauged`]).toBeGreaterThanOrEqual(120);
    expect(ages[`connection=${connection},queue=gauged`]).toBeLessThanOrEqual(140);
    expect(ages[`connection=${connection},queue=halted`]).toBeLessThan(120);
    expect(ages[`connection=${connection},queue=served-only`]).toBe(0);
    expect(await series(registry, METRIC.paused)).toEqual({
      [`connection=${connection},queue=busy`]: 0,
      [`connection=${connection},queue=gauged`]: 0,
      [`connection=${connection},queue=halted`]: 1,
      [`connection=${connection},queue=served-only`]: 0,
    });
    // The `elsewhere` record is left out: only sampled connections are counted.
    expect(await series(registry, METRIC.failedJobs)).toEqual({
      [`connection=${connection},queue=busy`]: 1,
      [`connection=${connection},queue=gauged`]: 4,
    });
    expect(await series(registry, METRIC.workers)).toEqual({
      [`connection=${connection},host=gauge-host`]: 1,
      [`connection=${connection},host=lost-host`]: 0,
    });
    expect(await series(registry, METRIC.busySlots)).toEqual({
      [`connection=${connection},host=gauge-host`]: 3,
      [`connection=${connection},host=lost-host`]: 0,
    });
    expect(await series(registry, METRIC.depthSampler)).toEqual({ '': 1 });
    const sampledAt = await series(registry, METRIC.depthSampledAt);
    expect(Object.keys(sampledAt)).toEqual([`connection=${connection}`]);
    expect(Math.abs(sampledAt[`connection=${connection}`]! - Date.now() / 1000)).toBeLessThan(600);
    expect(await series(registry, METRIC.depthSampleUp)).toEqual({ [`connection=${connection}`]: 1 });
    expect(reported).toEqual([]);
  });

  it('samples every database and redis connection by default', async () => {
    const registry = new Registry();
    await register(registry).sampleNow();
    const sampled = Object.keys(await series(registry, METRIC.depthSampledAt));
    expect(sampled).toEqual(
      Object.keys(storeConnections(store))
        .map((name) => `connection=${name}`)
        .sort(),
    );
    expect(
      of(connection, await series(registry, METRIC.queueJobs))[`connection=${connection},queue=gauged,state=pending`],
    ).toBe(50);
  });

  it('stops each count at the cap', async () => {
    const registry = new Registry();
    await register(registry, { cap: 3, connections: [connection] }).sampleNow();
    const jobs = await series(registry, METRIC.queueJobs);
    expect(jobs[`connection=${connection},queue=gauged,state=pending`]).toBe(3);
    expect(jobs[`connection=${connection},queue=gauged,state=delayed`]).toBe(3);
    expect(jobs[`connection=${connection},queue=halted,state=pending`]).toBe(2);
    expect(await series(registry, METRIC.failedJobs)).toEqual({
      [`connection=${connection},queue=busy`]: 1,
      [`connection=${connection},queue=gauged`]: 3,
    });
  });

  it('lets one sampler hold the lease; another takes over when it stops, and the first stops exporting when it loses it', async () => {
    const first = new Registry();
    const second = new Registry();
    const a = register(first, { connections: [connection] });
    const b = register(second, { connections: [connection] });
    await a.sampleNow();
    await b.sampleNow();
    expect(await series(first, METRIC.depthSampler)).toEqual({ '': 1 });
    expect(await series(second, METRIC.depthSampler)).toEqual({ '': 0 });
    expect(await series(second, METRIC.queueJobs)).toEqual({});
    expect(await series(second, METRIC.depthSampledAt)).toEqual({});
    // Renewing keeps it: a second round changes nothing.
    await a.sampleNow();
    await b.sampleNow();
    expect(await series(first, METRIC.depthSampler)).toEqual({ '': 1 });
    expect(await series(second, METRIC.depthSampler)).toEqual({ '': 0 });

    a.stop();
    await settleTracked(); // the release runs in the background, tracked
    expect(first.getSingleMetric(METRIC.queueJobs)).toBeUndefined();
    await b.sampleNow();
    expect(await series(second, METRIC.depthSampler)).toEqual({ '': 1 });
    expect((await series(second, METRIC.queueJobs))[`connection=${connection},queue=gauged,state=pending`]).toBe(50);

    // The lease lapses (as when its holder hangs) and a third process takes it: b stops exporting.
    const third = new Registry();
    const c = register(third, { connections: [connection] });
    const app = await runtime();
    await app.queues.locks().forceRelease(DEPTH_SAMPLER_LOCK);
    await c.sampleNow();
    await b.sampleNow();
    expect(await series(third, METRIC.depthSampler)).toEqual({ '': 1 });
    expect(await series(second, METRIC.depthSampler)).toEqual({ '': 0 });
    expect(await series(second, METRIC.queueJobs)).toEqual({});
    expect(await app.queues.locks().owner(DEPTH_SAMPLER_LOCK)).not.toBeNull();
  });

  it('samples without the lease when told not to elect (a one-off read)', async () => {
    const holder = register(new Registry(), { connections: [connection] });
    await holder.sampleNow();
    const registry = new Registry();
    await register(registry, { elect: false, connections: [connection] }).sampleNow();
    expect(await series(registry, METRIC.depthSampler)).toEqual({ '': 1 });
    expect((await series(registry, METRIC.queueJobs))[`connection=${connection},queue=gauged,state=delayed`]).toBe(5);
  });

  it('removes the series of a queue that disappeared', async () => {
    const registry = new Registry();
    const depth = register(registry, { connections: [connection] });
    const app = await runtime();
    const queue = app.queues.worker();
    await queue.push({ queue: 'short-lived', payload: payload('SendEmail') });
    await depth.sampleNow();
    expect((await series(registry, METRIC.queueJobs))[`connection=${connection},queue=short-lived,state=pending`]).toBe(
      1,
    );
    expect(await queue.clear('short-lived')).toBe(1);
    await depth.sampleNow();
    const keys = [
      ...Object.keys(await series(registry, METRIC.queueJobs)),
      ...Object.keys(await series(registry, METRIC.oldestPendingAge)),
      ...Object.keys(await series(registry, METRIC.paused)),
    ];
    expect(keys.filter((key) => key.includes('short-lived'))).toEqual([]);
    expect(keys.filter((key) => key.includes('queue=gauged'))).toHaveLength(5);
  });

  it('shows one sampler in several registries, and refuses a registry holding another metric of its names', async () => {
    const own = new Registry();
    const apps = new Registry();
    const depth = register(own, { connections: [connection] });
    depth.showIn(apps);
    expect(registerDepthGauges(apps)).toBe(depth);
    await depth.sampleNow();
    expect(await series(apps, METRIC.queueJobs)).toEqual(await series(own, METRIC.queueJobs));
    expect(await series(apps, METRIC.depthSampler)).toEqual({ '': 1 });

    const clashing = new Registry();
    new Gauge({ name: METRIC.paused, help: 'not errand', registers: [clashing] });
    expect(() => depth.showIn(clashing)).toThrow(`the registry already holds a metric named [${METRIC.paused}]`);
    expect(clashing.getSingleMetric(METRIC.queueJobs)).toBeUndefined();

    depth.stop();
    expect(own.getSingleMetric(METRIC.queueJobs)).toBeUndefined();
    expect(apps.getSingleMetric(METRIC.depthSampler)).toBeUndefined();
  });

  it('samples on its own timer, at once and then every interval, while it holds the lease', async () => {
    const registry = new Registry();
    const depth = registerDepthGauges(registry, { interval: 1, connections: [connection] });
    gauges.push(depth);
    const pending = async () =>
      (await series(registry, METRIC.queueJobs))[`connection=${connection},queue=gauged,state=pending`];
    await eventually('the timer has sampled', async () => (await pending()) === 50);
    const app = await runtime();
    const queue = app.queues.worker();
    await queue.push({ queue: 'gauged', payload: payload('SendEmail') });
    await eventually('the timer has sampled again', async () => (await pending()) === 51);
    depth.stop();
    await settleTracked();
    expect(await app.queues.locks().owner(DEPTH_SAMPLER_LOCK)).toBeNull();
    // Put back what the other tests count.
    const [job] = await queue.claim('gauged', 1, 'timer-test');
    expect(await queue.delete(job!)).toBe(true);
  });

  it('lets the lease go at shutdown(), so another process takes over at once', async () => {
    const registry = new Registry();
    const depth = register(registry, { connections: [connection] });
    await depth.sampleNow();
    expect(await (await runtime()).queues.locks().owner(DEPTH_SAMPLER_LOCK)).not.toBeNull();
    await shutdown();
    await bootStore();
    expect(await (await runtime()).queues.locks().owner(DEPTH_SAMPLER_LOCK)).toBeNull();
    expect(await series(registry, METRIC.depthSampler)).toEqual({ '': 0 });
    expect(await series(registry, METRIC.queueJobs)).toEqual({});
    // Booted again, it is a candidate again.
    await depth.sampleNow();
    expect(await series(registry, METRIC.depthSampler)).toEqual({ '': 1 });
  });

  it('reads two connections on one store once, under the default connection’s name', async () => {
    const connections = storeConnections(store);
    const own = connections[connection as keyof typeof connections]!;
    // `long` is the default's store under another name (another retryAfter, as for long jobs).
    await boot({
      default: connection,
      connections: { long: { ...own, retryAfter: 3600 }, ...connections },
      report: (error) => reported.push(error),
    });
    try {
      const registry = new Registry();
      await register(registry).sampleNow();
      expect(Object.keys(await series(registry, METRIC.depthSampleUp))).toEqual(
        Object.keys(connections)
          .map((name) => `connection=${name}`)
          .sort(),
      );
      expect(of('long', await series(registry, METRIC.queueJobs))).toEqual({});
      expect(of('long', await series(registry, METRIC.workers))).toEqual({});
      expect(of('long', await series(registry, METRIC.busySlots))).toEqual({});
      const jobs = await series(registry, METRIC.queueJobs);
      expect(jobs[`connection=${connection},queue=gauged,state=pending`]).toBe(50);
      expect(await series(registry, METRIC.workers)).toEqual({
        [`connection=${connection},host=gauge-host`]: 1,
        [`connection=${connection},host=lost-host`]: 0,
      });
    } finally {
      await bootStore();
    }
  });

  it('returns the same handle for a registry that already has the gauges', () => {
    const registry = new Registry();
    const depth = register(registry, { connections: [connection] });
    expect(registerDepthGauges(registry)).toBe(depth);
  });
});

describe('the depth gauges when a connection cannot be read', () => {
  const reported: unknown[] = [];
  let depth: DepthGauges | undefined;
  afterAll(async () => {
    depth?.stop();
    await shutdown();
  });

  it('names it in the report and leaves its series out, with its last sample time kept, rather than zeros', async () => {
    const good = await freshDatabase('sqlite', 'depth_gauges_down');
    const spare = await freshDatabase('sqlite', 'depth_gauges_spare');
    const report = (error: unknown) => reported.push(error);
    await boot({ default: 'database', connections: { database: good, spare }, report });
    await runMigrations();
    const app = await runtime();
    await app.queues.worker('spare').push({ queue: 'spare-q', payload: payload('SendEmail') });
    const registry = new Registry();
    depth = registerDepthGauges(registry, { timer: false });
    await depth.sampleNow();
    const before = await series(registry, METRIC.depthSampledAt);
    expect(Object.keys(before)).toEqual(['connection=database', 'connection=spare']);
    expect((await series(registry, METRIC.queueJobs))['connection=spare,queue=spare-q,state=pending']).toBe(1);

    // The same connection name now points at a server that refuses connections.
    const down = {
      driver: 'database' as const,
      client: 'pg' as const,
      connection: 'postgres://postgres@127.0.0.1:1/none',
    };
    await boot({ default: 'database', connections: { database: good, spare: down }, report });
    await depth.sampleNow();
    expect(of('spare', await series(registry, METRIC.queueJobs))).toEqual({});
    expect(of('spare', await series(registry, METRIC.oldestPendingAge))).toEqual({});
    const after = await series(registry, METRIC.depthSampledAt);
    expect(after['connection=spare']).toBe(before['connection=spare']);
    expect(after['connection=database']).toBeGreaterThan(before['connection=database']!);
    expect(await series(registry, METRIC.depthSampleUp)).toEqual({ 'connection=database': 1, 'connection=spare': 0 });
    expect(await series(registry, METRIC.depthSampler)).toEqual({ '': 1 });
    expect(reported.every((error) => error instanceof DepthSampleError)).toBe(true);
    const messages = reported.map((error) => (error as Error).message);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('could not sample connection [spare] (127.0.0.1:1)');
    // Still down at the next sample: reported once, not at every interval.
    await depth.sampleNow();
    expect(reported).toHaveLength(1);
  });
});

describe('the depth gauges when a connection was never readable', () => {
  const reported: unknown[] = [];
  let depth: DepthGauges | undefined;
  afterAll(async () => {
    depth?.stop();
    await shutdown();
  });

  it('shows errand_depth_sample_up 0 for it, with no sample time, and names it once', async () => {
    const good = await freshDatabase('sqlite', 'depth_gauges_never_good');
    // Never migrated: its tables are missing, and the error says to run errand migrate.
    const bare = await freshDatabase('sqlite', 'depth_gauges_never_bare');
    const down = {
      driver: 'database' as const,
      client: 'pg' as const,
      connection: 'postgres://postgres@127.0.0.1:1/none',
    };
    await boot({
      default: 'database',
      connections: { database: good, bare, down },
      failed: { driver: 'null' },
      report: (error) => reported.push(error),
    });
    await runMigrations('database');
    const registry = new Registry();
    depth = registerDepthGauges(registry, { timer: false });
    await depth.sampleNow();
    expect(await series(registry, METRIC.depthSampleUp)).toEqual({
      'connection=bare': 0,
      'connection=database': 1,
      'connection=down': 0,
    });
    expect(Object.keys(await series(registry, METRIC.depthSampledAt))).toEqual(['connection=database']);
    const messages = reported.map((error) => (error as Error).message).sort();
    expect(messages).toHaveLength(2);
    expect(messages[0]).toContain('could not sample connection [bare]');
    expect(messages[1]).toContain('could not sample connection [down] (127.0.0.1:1)');
    // A reason that already ends its sentence gets no second full stop.
    for (const message of messages) expect(message).not.toMatch(/[.!?]\. Its series/);
    expect(messages[0]).toContain('run `errand migrate`. Its series are left out');
    expect(messages[1]).toContain('the host and port right? Its series are left out');
  });
});

describe('the depth gauges with no runtime booted', () => {
  it('sample nothing and boot nothing: errand_depth_sampler 0 until a runtime is booted', async () => {
    await shutdown();
    const registry = new Registry();
    const depth = registerDepthGauges(registry, { timer: false });
    try {
      await depth.sampleNow();
      expect(bootedRuntime()).toBeUndefined();
      expect(await series(registry, METRIC.depthSampler)).toEqual({ '': 0 });
      expect(await series(registry, METRIC.queueJobs)).toEqual({});
      // A runtime given as a function that has none yet is waited for the same way.
      const later = registerDepthGauges(new Registry(), { timer: false, runtime: () => undefined });
      await later.sampleNow();
      later.stop();
      expect(bootedRuntime()).toBeUndefined();
    } finally {
      depth.stop();
      await shutdown();
    }
  });

  it('read the dashboard’s own runtime with metrics: true, though none is booted', async () => {
    await boot({ default: 'database', connections: { database: await freshDatabase('sqlite', 'depth_gauges_dash') } });
    await runMigrations();
    const app = (await runtime()) as ErrandRuntime;
    await app.queues.worker().push({ queue: 'dash-q', payload: payload('SendEmail') });
    // The app's runtime is the dashboard's alone: nothing is booted in the process.
    setRuntime(undefined);
    try {
      const dashboard = createDashboard({ basePath: '/jobs', metrics: true, authorize: () => true, runtime: app });
      const scrape = async () => {
        const response = await dashboard(new Request('http://x/jobs/metrics', { headers: { accept: 'text/plain' } }));
        return parseExposition(await response.text());
      };
      await eventually('the dashboard’s sampler has read its runtime', async () =>
        (await scrape()).samples.some(
          (sample) => sample.name === METRIC.queueJobs && sample.labels.queue === 'dash-q' && sample.value === 1,
        ),
      );
      expect(bootedRuntime()).toBeUndefined();
    } finally {
      setRuntime(app);
      await shutdown();
    }
  });
});
