import { randomUUID } from 'node:crypto';
import path from 'node:path';

import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import { CALL_QUEUED_HANDLER } from '../../src/payload/job-payload.js';
import { jsonEvents, sleep, waitUntil } from '../helpers/daemon.js';
import { describeOnRedis } from '../helpers/databases.js';
import { ROOT } from '../helpers/run-cli.js';
import { countRows } from '../helpers/worker-process.js';
import { CHAOS_JOBS, Controller } from './harness/controller.js';
import { executions } from './harness/ledger.js';
import { createRedisChaosApp, QUEUE, type RedisChaosApp } from './harness/redis-app.js';
import { recordResult } from './harness/scale.js';

// Redis 5: poison entries. What scenario 12 does to rows of `jobs`, done to the keys of a Redis
// queue, as a corrupted restore, a lost write or a hand-made edit would leave them: a job hash
// whose payload is broken, a waiting id with no hash, a hash without its payload, attempts that
// are not a count or at the integer limit, a key of the wrong type, a lapsed reservation with no
// hash. Each must end in failed_jobs with its own reason, claimed once, none of the
// job's code run; the worker that met them (one claim script for many ids) works on, and the
// normal job queued behind them runs.
const PRODUCER = path.join(ROOT, 'test/reliability/fixtures/redis-producer.mjs');
const INT64_MAX = '9223372036854775807';

/** A well-formed payload (the wire format of docs/payload.md) of `name`, with `change` applied. */
function payloadOf(name: string, command: unknown, change: (p: Record<string, unknown>) => void = () => undefined) {
  const payload: Record<string, unknown> = {
    uuid: randomUUID(),
    displayName: name,
    job: CALL_QUEUED_HANDLER,
    maxTries: 3,
    maxExceptions: null,
    failOnTimeout: false,
    backoff: null,
    timeout: null,
    retryUntil: null,
    data: { commandName: name, command },
    createdAt: Math.floor(Date.now() / 1000),
    delay: null,
  };
  change(payload);
  return JSON.stringify(payload);
}

/** One planted entry: its id, how to plant it, and what its failed_jobs row must say. */
interface Poison {
  name: string;
  id: string;
  plant: (app: RedisChaosApp) => Promise<void>;
  /** What failed_jobs.exception's first line must match. */
  reason: RegExp;
}

/** Puts `id` among the waiting jobs, available since long ago (ahead of anything dispatched now). */
async function wait(app: RedisChaosApp, id: string): Promise<void> {
  await app.probe.send(['ZADD', app.probe.key(QUEUE, 'waiting'), '1', id]);
}

/** A job hash with `fields`, its id waiting. */
function hashed(id: string, fields: Record<string, string>) {
  return async (app: RedisChaosApp) => {
    await app.probe.send(['HSET', app.probe.key(QUEUE, `job:${id}`), ...Object.entries(fields).flat()]);
    await wait(app, id);
  };
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function poisons(app: RedisChaosApp): Poison[] {
  const created = String(Date.now());
  const valid = (key: string) => payloadOf('ChaosJob', { key, ms: 0 });
  const jobKey = (id: string) => escape(app.probe.key(QUEUE, `job:${id}`));
  return [
    {
      name: 'invalid JSON',
      id: 'p-json',
      plant: hashed('p-json', { payload: '{"uuid": nope', attempts: '0', exceptions: '0', created }),
      reason: /^PayloadError: The payload is not valid JSON: /,
    },
    {
      name: 'not an object',
      id: 'p-array',
      plant: hashed('p-array', { payload: '[1,2]', attempts: '0', exceptions: '0', created }),
      reason: /^PayloadError: The payload is not a JSON object\.$/,
    },
    {
      name: 'unregistered job',
      id: 'p-unknown',
      plant: hashed('p-unknown', {
        payload: payloadOf('NoSuchJob', { key: 'poison-unknown' }),
        attempts: '0',
        exceptions: '0',
        created,
      }),
      reason: /^PayloadError: Unknown job \[NoSuchJob\]: no class is registered under that name\./,
    },
    {
      name: 'waiting id with no hash',
      id: 'p-ghost',
      plant: (app) => wait(app, 'p-ghost'),
      reason: new RegExp(`^PayloadError: .*${jobKey('p-ghost')}`),
    },
    {
      name: 'hash without a payload',
      id: 'p-no-payload',
      plant: hashed('p-no-payload', { attempts: '0', exceptions: '0', created }),
      reason: new RegExp(`^PayloadError: .*${jobKey('p-no-payload')}.*payload`),
    },
    {
      name: 'attempts not a number',
      id: 'p-attempts-text',
      plant: hashed('p-attempts-text', {
        payload: valid('poison-attempts-text'),
        attempts: 'many',
        exceptions: '0',
        created,
      }),
      reason: new RegExp(`^PayloadError: .*${jobKey('p-attempts-text')}.*attempts`),
    },
    {
      name: 'attempts at the 64-bit limit',
      id: 'p-attempts-max',
      plant: hashed('p-attempts-max', {
        payload: valid('poison-attempts-max'),
        attempts: INT64_MAX,
        exceptions: '0',
        created,
      }),
      reason: /^MaxAttemptsExceededError: ChaosJob has been attempted too many times\.$/,
    },
    {
      name: 'job key of the wrong type',
      id: 'p-string',
      plant: async (app) => {
        await app.probe.send(['SET', app.probe.key(QUEUE, 'job:p-string'), valid('poison-string')]);
        await wait(app, 'p-string');
      },
      reason: new RegExp(`^PayloadError: .*${jobKey('p-string')}.*(string|type)`),
    },
    {
      name: 'lapsed reservation with no hash',
      id: 'p-reserved-ghost',
      plant: async (app) => {
        const lapsed = (await app.probe.now()) - 1000;
        await app.probe.send(['ZADD', app.probe.key(QUEUE, 'reserved'), String(lapsed), 'p-reserved-ghost']);
      },
      reason: new RegExp(`^PayloadError: .*${jobKey('p-reserved-ghost')}`),
    },
  ];
}

type Produce = (
  config: Record<string, unknown>,
  modules: string[],
  specs: Array<{ name: string; key: string; args?: unknown[] }>,
) => Promise<string[]>;

await describeOnRedis('reliability Redis 5: poison entries', () => {
  let app: RedisChaosApp;
  let controller: Controller | undefined;
  let produce: Produce;
  let stopProducing: () => Promise<void>;

  beforeAll(async () => {
    app = await createRedisChaosApp('rel-redis-poison', {
      bootstrap: [CHAOS_JOBS],
      overrides: { heartbeat: { interval: 1, lapse: 5 }, blockFor: 1 },
    });
    ({ produce, stopProducing } = (await import(PRODUCER)) as { produce: Produce; stopProducing: () => Promise<void> });
  });
  beforeEach(async () => {
    await controller?.stopAll();
    for (const table of ['failed_jobs', 'ledger']) await app.knex(table).delete();
  });
  afterAll(async () => {
    await controller?.stopAll();
    await stopProducing?.();
    await app?.close();
  });

  it('each poison entry fails once with its own reason, runs nothing, and the worker works on', async () => {
    const started = Date.now();
    controller = new Controller(app, ['queue:work', '--concurrency=4', '--sleep=0.1', '--json']);
    const [worker] = controller.start(1);
    await worker!.waitFor(/"status":"worker_starting"/);

    const planted = poisons(app);
    for (const poison of planted) await poison.plant(app);
    // Behind them, a normal job, dispatched as usual (its push wakes the worker).
    const [normalId] = await produce(app.config, [CHAOS_JOBS], [{ name: 'ChaosJob', key: 'normal', args: [0] }]);

    const explain = async (error: Error): Promise<never> => {
      throw new Error(
        `${error.message}\nkeys left: ${JSON.stringify(await app.probe.keys())}\nfailed: ${JSON.stringify(await app.knex('failed_jobs').select('exception'))}\nstderr: ${controller!.stderr()}\nstdout: ${worker!.stdout()}`,
      );
    };
    await waitUntil(
      async () => (await countRows(app.knex, 'failed_jobs')) >= planted.length,
      20_000,
      `${planted.length} poison entries to reach failed_jobs`,
    ).catch(explain);
    await waitUntil(
      async () => (await executions(app.knex)).some((run) => run.key === 'normal' && run.finishedAt !== null),
      10_000,
      'the normal job behind them to finish',
    ).catch(explain);

    // Its success line comes once its delete has landed, a moment after the ledger's finish.
    await waitUntil(
      () => jsonEvents(worker!.stdout()).some((e) => e.id === normalId && e.status === 'success'),
      10_000,
      "the normal job's success line",
    ).catch(explain);
    const failed = (await app.knex('failed_jobs').select('payload', 'exception', 'queue')) as Array<{
      payload: string;
      exception: string;
      queue: string;
    }>;
    expect(failed).toHaveLength(planted.length);
    const events = jsonEvents(worker!.stdout());
    for (const poison of planted) {
      // Its own row: the reason matches, and only this entry's row says it.
      const mine = failed.filter((f) => poison.reason.test(f.exception.split('\n')[0]!));
      expect(
        mine.map((f) => f.exception.split('\n')[0]),
        `${poison.name}: one failed_jobs row with its reason`,
      ).toHaveLength(1);
      expect(mine[0]!.queue, poison.name).toBe(QUEUE);
      // Claimed once: one start and one failure line for its id, never retried.
      expect(
        events.filter((e) => e.id === poison.id).map((e) => e.status),
        `${poison.name}: claimed once`,
      ).toEqual(['starting', 'failed']);
    }
    // No poison entry's handler ran: the ledger holds the normal job only.
    expect((await executions(app.knex)).map((run) => run.key)).toEqual(['normal']);

    // Nothing comes back later, and nothing of them is left in the store.
    await sleep(2_000);
    expect(await countRows(app.knex, 'failed_jobs')).toBe(planted.length);
    expect(await app.probe.jobKeys()).toEqual([]);
    expect(await app.probe.waiting()).toEqual(new Map());
    expect(await app.probe.reserved()).toEqual(new Map());
    // The same process did it all, and said nothing on stderr.
    expect(controller.exits).toEqual([]);
    expect(worker!.child.exitCode).toBeNull();
    expect(controller.stderr()).toBe('');
    recordResult({
      scenario: 'R5 poison entries',
      engine: 'redis',
      jobs: planted.length + 1,
      executions: (await executions(app.knex)).length,
      duplicates: 0,
      lost: 0,
      seconds: (Date.now() - started) / 1000,
    });
  });

  it('a running job’s id put back among the waiting is not claimed again: the job runs once and nothing fails', async () => {
    controller = new Controller(app, ['queue:work', '--concurrency=4', '--sleep=0.1', '--json']);
    const [worker] = controller.start(1);
    await worker!.waitFor(/"status":"worker_starting"/);
    const [id] = await produce(app.config, [CHAOS_JOBS], [{ name: 'ChaosJob', key: 'twice', args: [3_000] }]);
    await waitUntil(async () => (await executions(app.knex)).length === 1, 10_000, 'the job to start');
    // The same id waiting again while the job runs, then a push that wakes the worker.
    await wait(app, id!);
    await produce(app.config, [CHAOS_JOBS], [{ name: 'ChaosJob', key: 'after', args: [0] }]);
    await waitUntil(
      async () => (await executions(app.knex)).filter((run) => run.finishedAt !== null).length === 2,
      15_000,
      'both jobs to finish',
    );
    await waitUntil(async () => (await app.probe.jobKeys()).length === 0, 10_000, 'the store to hold no job');
    await waitUntil(
      () => jsonEvents(worker!.stdout()).filter((e) => e.status === 'success').length === 2,
      10_000,
      'both success lines',
    );
    const runs = await executions(app.knex);
    expect(runs.map((run) => [run.key, run.attempt, run.finishedAt !== null]).sort()).toEqual([
      ['after', 1, true],
      ['twice', 1, true],
    ]);
    expect(
      jsonEvents(worker!.stdout())
        .filter((e) => e.id === id)
        .map((e) => e.status),
    ).toEqual(['starting', 'success']);
    expect(await countRows(app.knex, 'failed_jobs')).toBe(0);
    expect(await app.probe.waiting()).toEqual(new Map());
    expect(controller.stderr()).toBe('');
  });
});
