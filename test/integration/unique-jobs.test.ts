import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import { Queue } from '../../src/bus/queue.js';
import { uniqueKey } from '../../src/bus/unique-lock.js';
import type { DatabaseConnectionConfig } from '../../src/config/config-types.js';
import type { LockStore } from '../../src/contracts/lock-store.js';
import { Job } from '../../src/decorators/job.js';
import { AfterCommitError } from '../../src/errors/after-commit-error.js';
import { MissingTableError } from '../../src/errors/missing-table-error.js';
import { UniqueJobSkipped } from '../../src/events/unique-job-skipped.js';
import { Queueable } from '../../src/job/queueable.js';
import { lockStore } from '../../src/locks/current-lock-store.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { events, runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import type { WorkerOptions } from '../../src/worker/worker-options.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';
import { ROOT, runCli } from '../helpers/run-cli.js';

/** What the jobs saw while they ran: the owner of their own unique lock, from inside handle(). */
const seen: Array<{ job: string; id: string; attempt: number; owner: string | null }> = [];
const ownerNow = async (jobName: string, id: string) => (await lockStore()).owner(uniqueKey(jobName, id));

@Job({ name: 'uq.Report', unique: true, uniqueId: (job: Report) => job.reportId })
class Report extends Queueable {
  constructor(public reportId: string) {
    super();
  }
  async handle() {
    seen.push({
      job: 'uq.Report',
      id: this.reportId,
      attempt: this.attempts(),
      owner: await ownerNow('uq.Report', this.reportId),
    });
  }
}

@Job({ name: 'uq.Failing', unique: true, tries: 1 })
class Failing extends Queueable {
  constructor(public ref: string) {
    super();
  }
  uniqueId() {
    return this.ref;
  }
  handle() {
    throw new Error(`failing ${this.ref}`);
  }
}

@Job({ name: 'uq.Flaky', unique: true, tries: 2, uniqueId: (job: Flaky) => job.ref })
class Flaky extends Queueable {
  constructor(public ref: string) {
    super();
  }
  async handle() {
    seen.push({ job: 'uq.Flaky', id: this.ref, attempt: this.attempts(), owner: await ownerNow('uq.Flaky', this.ref) });
    if (this.attempts() === 1) throw new Error('first attempt fails');
  }
}

@Job({
  name: 'uq.UntilProcessing',
  unique: true,
  uniqueUntil: 'processing',
  uniqueId: (job: UntilProcessing) => job.ref,
})
class UntilProcessing extends Queueable {
  constructor(public ref: string) {
    super();
  }
  async handle() {
    seen.push({
      job: 'uq.UntilProcessing',
      id: this.ref,
      attempt: this.attempts(),
      owner: await ownerNow('uq.UntilProcessing', this.ref),
    });
  }
}

@Job({ name: 'uq.Expiring', unique: true, uniqueFor: 1, uniqueId: (job: Expiring) => job.ref })
class Expiring extends Queueable {
  constructor(public ref: string) {
    super();
  }
  async handle() {
    seen.push({
      job: 'uq.Expiring',
      id: this.ref,
      attempt: this.attempts(),
      owner: await ownerNow('uq.Expiring', this.ref),
    });
  }
}

/** The same job the worker process defines in test/fixtures/workers/unique-jobs.mjs (this side only dispatches it). */
@Job({ name: 'uq.LedgerJob', unique: true, uniqueId: (job: LedgerJob) => job.key })
class LedgerJob extends Queueable {
  constructor(public key: string) {
    super();
  }
  handle() {}
}

const describeEachSql = databaseOnly(
  'reads the locks table and takes unique locks inside knex transactions (unique jobs on Redis have their own suite)',
);
await describeEachSql('unique jobs', (engine) => {
  let connection: DatabaseConnectionConfig;
  let knex: Knex;
  let store: LockStore;
  const skipped: UniqueJobSkipped[] = [];
  const reported: unknown[] = [];
  let off: () => void;
  const work = (options: Partial<WorkerOptions> = {}) =>
    createWorker({ stopWhenEmpty: true, sleep: 0, ...options }).run();
  const count = async (table: string) =>
    Number(((await knex(table).count({ n: '*' })) as Array<{ n: number | string }>)[0]!.n);
  const payloads = async () =>
    ((await knex('jobs').select('payload').orderBy('id')) as Array<{ payload: string }>).map((row) =>
      JSON.parse(row.payload),
    );

  beforeAll(async () => {
    connection = await freshDatabase(engine, 'unique_jobs');
    await boot({
      default: 'database',
      // `broken` writes to a table that does not exist: its pushes fail after the lock is taken.
      connections: { database: connection, broken: { ...connection, table: 'no_such_jobs' }, sync: { driver: 'sync' } },
      report: (error) => reported.push(error),
    });
    await runMigrations('database');
    const app = await runtime();
    knex = databaseQueue(app.queues).knex;
    store = app.queues.locks();
    off = events.on(UniqueJobSkipped, (event) => void skipped.push(event));
  });
  afterAll(async () => {
    off();
    await shutdown();
  });
  beforeEach(async () => {
    seen.length = 0;
    skipped.length = 0;
    reported.length = 0;
    await knex('jobs').delete();
    await knex('failed_jobs').delete();
    await knex('locks').delete();
  });

  it('a worker in another process sees the lock held while the job runs and releases it when done', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-unique-'));
    writeFileSync(
      path.join(dir, 'errand.config.mjs'),
      `export default ${JSON.stringify({ default: 'database', connections: { database: connection }, bootstrap: path.join(ROOT, 'test/fixtures/workers/unique-jobs.mjs') })};\n`,
    );
    await knex.schema.dropTableIfExists('ledger');
    await knex.schema.createTable('ledger', (t) => {
      t.increments('id');
      t.string('job_key', 200).notNullable();
      t.integer('pid').notNullable();
    });
    expect(await LedgerJob.dispatch('cross')).toEqual(expect.any(String));
    expect(await LedgerJob.dispatch('cross')).toBeNull();
    const [payload] = await payloads();
    const ledger = {
      client: connection.client,
      connection: connection.connection,
      useNullAsDefault: true,
      pool: { min: 0, max: 1 },
    };
    const result = await runCli(['queue:work', '--stop-when-empty', '--sleep=0'], dir, {
      LEDGER_KNEX: JSON.stringify(ledger),
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await knex('ledger').pluck('job_key')).toEqual([`cross|${payload.uuid}`]);
    expect(await store.isLocked(uniqueKey('uq.LedgerJob', 'cross'))).toBe(false);
    expect(await LedgerJob.dispatch('cross')).toEqual(expect.any(String));
  });

  it('of 50 concurrent dispatches of one unique key, one is queued and 49 resolve to null and are reported skipped', async () => {
    const ids = await Promise.all(Array.from({ length: 50 }, () => Report.dispatch('monthly')));
    const queued = ids.filter((id): id is string => id !== null);
    expect(queued).toHaveLength(1);
    expect(await count('jobs')).toBe(1);
    const [payload] = await payloads();
    const key = uniqueKey('uq.Report', 'monthly');
    expect(payload.unique).toEqual({ key, until: 'done' });
    // The lock is owned by the queued job's uuid.
    expect(await store.owner(key)).toBe(payload.uuid);
    expect(skipped).toHaveLength(49);
    expect(
      new Set(
        skipped.map((event) => `${event.connectionName}|${event.queue}|${event.jobName}|${event.key}|${event.holder}`),
      ),
    ).toEqual(new Set([`database|default|uq.Report|${key}|${payload.uuid}`]));
    expect(skipped.every((event) => event.job instanceof Report)).toBe(true);
    // Another unique id is not affected.
    expect(await Report.dispatch('weekly')).toEqual(expect.any(String));
  });

  it('holds the lock while the job runs and frees it after success', async () => {
    await Report.dispatch('r1');
    const [payload] = await payloads();
    expect(await Report.dispatch('r1')).toBeNull();
    await work();
    expect(seen).toEqual([{ job: 'uq.Report', id: 'r1', attempt: 1, owner: payload.uuid }]);
    expect(await store.isLocked(uniqueKey('uq.Report', 'r1'))).toBe(false);
    expect(await Report.dispatch('r1')).toEqual(expect.any(String));
  });

  it('frees the lock after the final failure', async () => {
    await Failing.dispatch('f1');
    expect(await Failing.dispatch('f1')).toBeNull();
    await work();
    expect(await count('failed_jobs')).toBe(1);
    expect(await store.isLocked(uniqueKey('uq.Failing', 'f1'))).toBe(false);
    expect(await Failing.dispatch('f1')).toEqual(expect.any(String));
  });

  it('keeps the lock through a retry (release with tries left), and frees it when the retry succeeds', async () => {
    await Flaky.dispatch('x');
    const [payload] = await payloads();
    const key = uniqueKey('uq.Flaky', 'x');
    await work({ once: true });
    expect(seen.map((s) => s.attempt)).toEqual([1]);
    expect(await count('jobs')).toBe(1);
    expect(await store.owner(key)).toBe(payload.uuid);
    expect(await Flaky.dispatch('x')).toBeNull();
    await work();
    expect(seen).toEqual([
      { job: 'uq.Flaky', id: 'x', attempt: 1, owner: payload.uuid },
      { job: 'uq.Flaky', id: 'x', attempt: 2, owner: payload.uuid },
    ]);
    expect(await store.isLocked(key)).toBe(false);
  });

  it("uniqueUntil 'processing' frees the lock just before handle() runs", async () => {
    await UntilProcessing.dispatch('p');
    expect(await UntilProcessing.dispatch('p')).toBeNull();
    await work();
    expect(seen).toEqual([{ job: 'uq.UntilProcessing', id: 'p', attempt: 1, owner: null }]);
    expect(await store.isLocked(uniqueKey('uq.UntilProcessing', 'p'))).toBe(false);
  });

  it('uniqueFor lets the lock expire by itself while the job is still queued', async () => {
    expect(await Expiring.dispatch('e')).toEqual(expect.any(String));
    expect(await Expiring.dispatch('e')).toBeNull();
    await eventually(
      'the uniqueFor lock has expired',
      async () => !(await store.isLocked(uniqueKey('uq.Expiring', 'e'))),
    );
    expect(await Expiring.dispatch('e')).toEqual(expect.any(String));
    expect(await count('jobs')).toBe(2);
  });

  it('a job whose expired lock was taken over by another owner leaves that lock alone when it finishes', async () => {
    await Expiring.dispatch('t');
    const [payload] = await payloads();
    const key = uniqueKey('uq.Expiring', 't');
    await eventually('the uniqueFor lock has expired', async () => !(await store.isLocked(key)));
    expect(await store.acquire(key, 'another-owner', 0)).toBe(true);
    await work();
    expect(seen).toEqual([{ job: 'uq.Expiring', id: 't', attempt: 1, owner: 'another-owner' }]);
    expect(payload.uuid).not.toBe('another-owner');
    expect(await store.owner(key)).toBe('another-owner');
  });

  it('frees the lock when the push fails after it was taken (Laravel #48483)', async () => {
    await expect(Report.dispatch('broken').onConnection('broken')).rejects.toThrow(MissingTableError);
    expect(await store.isLocked(uniqueKey('uq.Report', 'broken'))).toBe(false);
    expect(await Report.dispatch('broken')).toEqual(expect.any(String));
  });

  it('frees the lock of a job whose payload is refused undecoded (unknown job), so nothing is left stuck', async () => {
    const uuid = randomUUID();
    const key = uniqueKey('uq.Gone', '1');
    expect(await store.acquire(key, uuid, 0)).toBe(true);
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      uuid,
      displayName: 'uq.Gone',
      job: 'errand:CallQueuedHandler@call',
      data: { commandName: 'uq.Gone', command: {} },
      unique: { key, until: 'done' },
    };
    await knex('jobs').insert({
      queue: 'default',
      payload: JSON.stringify(payload),
      attempts: 0,
      available_at: now - 1,
      created_at: now,
    });
    await work();
    expect(await count('failed_jobs')).toBe(1);
    expect(await store.isLocked(key)).toBe(false);
  });

  it('on the sync connection holds the lock during the inline run and frees it when the run ends, failed or not', async () => {
    expect(await Report.dispatch('s').onConnection('sync')).toEqual(expect.any(String));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.owner).toEqual(expect.any(String));
    expect(await store.isLocked(uniqueKey('uq.Report', 's'))).toBe(false);
    await expect(Failing.dispatch('s').onConnection('sync')).rejects.toThrow('failing s');
    expect(await store.isLocked(uniqueKey('uq.Failing', 's'))).toBe(false);
    await UntilProcessing.dispatch('s').onConnection('sync');
    expect(seen[1]).toMatchObject({ job: 'uq.UntilProcessing', owner: null });
  });

  it('Queue.bulk ignores unique constraints (Laravel: not in batches or bulk pushes)', async () => {
    const ids = await Queue.bulk([new Report('b'), new Report('b')]);
    expect(ids).toHaveLength(2);
    expect((await payloads()).map((p) => p.unique)).toEqual([undefined, undefined]);
    expect(await store.isLocked(uniqueKey('uq.Report', 'b'))).toBe(false);
  });

  it('an afterCommit dispatch frees its lock when the transaction rolls back, and keeps it when it commits', async () => {
    const key = uniqueKey('uq.Report', 'trx');
    await expect(
      knex.transaction(async (trx) => {
        expect(await Report.dispatch('trx').afterCommit(trx)).toBeNull();
        throw new Error('payment declined');
      }),
    ).rejects.toThrow('payment declined');
    await eventually('the rolled-back lock is free', async () => !(await store.isLocked(key)));
    expect(await count('jobs')).toBe(0);

    await knex.transaction(async (trx) => {
      await Report.dispatch('trx').afterCommit(trx);
    });
    await eventually('the committed job is pushed', async () => (await count('jobs')) === 1);
    const [payload] = await payloads();
    expect(await store.owner(key)).toBe(payload.uuid);
    expect(reported).toEqual([]);
  });

  it('a withTransaction dispatch takes its lock with the job: gone on rollback, kept on commit', async () => {
    const key = uniqueKey('uq.Report', 'outbox');
    await expect(
      knex.transaction(async (trx) => {
        expect(await Report.dispatch('outbox').withTransaction(trx)).toEqual(expect.any(String));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await eventually('the rolled-back lock is free', async () => !(await store.isLocked(key)));
    expect(await count('jobs')).toBe(0);
    await knex.transaction(async (trx) => {
      await Report.dispatch('outbox').withTransaction(trx);
    });
    const [payload] = await payloads();
    expect(await store.owner(key)).toBe(payload.uuid);
  });

  it('an afterCommit dispatch whose push fails after the commit frees its lock', async () => {
    const key = uniqueKey('uq.Report', 'late');
    const committed = knex.transaction(async (trx) => {
      expect(await Report.dispatch('late').onConnection('broken').afterCommit(trx)).toBeNull();
    });
    // The awaited transaction learns of the failed push (decision 0040), rather than report().
    const failure = await committed.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(AfterCommitError);
    expect((failure as AfterCommitError).cause).toBeInstanceOf(MissingTableError);
    expect(reported).toEqual([]);
    await eventually('the lock of the job that was never stored is free', async () => !(await store.isLocked(key)));
  });
});
