import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { Knex } from 'knex';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';

import { writeMigration } from '../../src/console/commands/table-commands.js';
import { readStub } from '../../src/console/stubs.js';
import { Job } from '../../src/decorators/job.js';
import { createKnex } from '../../src/drivers/database/create-knex.js';
import { DatabaseLockStore } from '../../src/drivers/database/database-lock-store.js';
import { Queueable } from '../../src/job/queueable.js';
import { WithoutOverlapping } from '../../src/middleware/without-overlapping.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';
import { runCli } from '../helpers/run-cli.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where OverlapJob records its runs (set by the suite of the engine running). */
let overlapLog: (() => Knex) | undefined;

@Job({ name: 'locks.OverlapJob', tries: 0 })
class OverlapJob extends Queueable {
  constructor(
    public group: string,
    public n: number,
  ) {
    super();
  }

  middleware() {
    return [new WithoutOverlapping(this.group)];
  }

  async handle() {
    // Microseconds on this process's monotonic clock: every worker slot runs in this process.
    const started = Math.round(performance.now() * 1000);
    await sleep(15);
    const finished = Math.round(performance.now() * 1000);
    await overlapLog!()('overlap_log').insert({
      grp: this.group,
      n: this.n,
      attempt: this.attempts(),
      started,
      finished,
    });
  }
}

const describeEachSql = databaseOnly(
  'reads the locks table and its migration stub (the Redis lock store has its own suite)',
);
await describeEachSql('the locks table and WithoutOverlapping', (engine) => {
  let knex: Knex;
  let store: DatabaseLockStore;
  const extraPools: Knex[] = [];
  const dbNow = async () => {
    const nowSql = {
      sqlite: "cast(strftime('%s','now') as integer)",
      mysql: 'unix_timestamp()',
      postgres: 'floor(extract(epoch from now()))',
    }[engine];
    const rows = (await knex.select(knex.raw(`${nowSql} as now`))) as Array<{ now: number | string }>;
    return Number(rows[0]!.now);
  };
  /** Stores on separate pools, so concurrent callers really use separate connections. */
  const separateStores = async (count: number) => {
    const app = await runtime();
    const config = databaseQueue(app.queues).config;
    return Array.from({ length: count }, () => {
      const pool = createKnex(config, 'database');
      extraPools.push(pool);
      return new DatabaseLockStore(pool, 'locks', 'database', config);
    });
  };

  beforeAll(async () => {
    await boot({ default: 'database', connections: { database: await freshDatabase(engine, 'locks') } });
    await runMigrations();
    const app = await runtime();
    knex = databaseQueue(app.queues).knex;
    store = app.queues.locks() as DatabaseLockStore;
    overlapLog = () => knex;
    await knex.schema.createTable('overlap_log', (t) => {
      t.increments('id');
      t.string('grp', 20).notNullable();
      t.integer('n').notNullable();
      t.integer('attempt').notNullable();
      t.bigInteger('started').notNullable();
      t.bigInteger('finished').notNullable();
    });
  });
  afterAll(() => shutdown());
  beforeEach(async () => {
    await knex('locks').delete();
  });
  afterEach(async () => {
    // PostgreSQL allows 100 connections: give the extra pools' back before the next test.
    await Promise.all(extraPools.splice(0).map((pool) => pool.destroy()));
  });

  it('errand migrate creates the locks table, and the store is a DatabaseLockStore on the default connection', async () => {
    expect(store).toBeInstanceOf(DatabaseLockStore);
    expect(Object.keys(await knex('locks').columnInfo()).sort()).toEqual(['expires_at', 'key', 'owner']);
  });

  it('of 50 concurrent acquires of a free key on separate connections exactly one wins', async () => {
    const stores = await separateStores(5);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => stores[i % 5]!.acquire('race', `owner-${i}`, 60)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = `owner-${results.indexOf(true)}`;
    expect(await store.owner('race')).toBe(winner);
    expect(await knex('locks').where({ key: 'race' }).select('owner')).toEqual([{ owner: winner }]);
  });

  it('of 50 concurrent takeovers of an expired lock exactly one wins (the conditional UPDATE)', async () => {
    expect(await store.acquire('stale', 'first', 1)).toBe(true);
    await eventually('the 1 s lock has expired on the database clock', async () => !(await store.isLocked('stale')));
    const stores = await separateStores(5);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => stores[i % 5]!.acquire('stale', `owner-${i}`, 60)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.owner('stale')).toBe(`owner-${results.indexOf(true)}`);
  });

  it('lets only the owner release or refresh; forceRelease frees it for anyone', async () => {
    expect(await store.acquire('k', 'a', 0)).toBe(true);
    expect(await store.acquire('k', 'a', 0)).toBe(false);
    expect(await store.acquire('k', 'b', 0)).toBe(false);
    expect(await store.release('k', 'b')).toBe(false);
    expect(await store.refresh('k', 'b', 30)).toBe(false);
    expect(await store.owner('k')).toBe('a');
    expect(await store.release('k', 'a')).toBe(true);
    expect(await store.release('k', 'a')).toBe(false);
    expect(await store.isLocked('k')).toBe(false);
    expect(await store.acquire('k', 'b', 0)).toBe(true);
    await store.forceRelease('k');
    expect(await store.acquire('k', 'c', 0)).toBe(true);
  });

  it('writes expiry from the database clock, never expires a TTL of 0, and refresh moves the expiry', async () => {
    const before = await dbNow();
    expect(await store.acquire('ttl', 'a', 100)).toBe(true);
    expect(await store.acquire('forever', 'a', 0)).toBe(true);
    const expiry = async (key: string) => {
      const row = (await knex('locks').where({ key }).first('expires_at')) as { expires_at: number | string | null };
      return row.expires_at === null ? null : Number(row.expires_at);
    };
    const ttl = await expiry('ttl');
    expect(ttl).toBeGreaterThanOrEqual(before + 100);
    expect(ttl).toBeLessThanOrEqual((await dbNow()) + 100);
    expect(await expiry('forever')).toBeNull();
    expect(await store.refresh('ttl', 'a', 1000)).toBe(true);
    expect(await expiry('ttl')).toBeGreaterThanOrEqual(before + 1000);
    expect(await store.refresh('ttl', 'a', 0)).toBe(true);
    expect(await expiry('ttl')).toBeNull();
  });

  it('compares keys exactly: case and trailing spaces make different locks on every engine', async () => {
    expect(await store.acquire('user:Ann', 'a', 0)).toBe(true);
    expect(await store.acquire('user:ann', 'b', 0)).toBe(true);
    expect(await store.acquire('user:ann ', 'c', 0)).toBe(true);
    expect([await store.owner('user:Ann'), await store.owner('user:ann'), await store.owner('user:ann ')]).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('keeps keys longer than the column apart by a hash of the whole key', async () => {
    const long = (tail: string) => `${'x'.repeat(300)}${tail}`;
    expect(await store.acquire(long('a'), 'a', 0)).toBe(true);
    expect(await store.acquire(long('b'), 'b', 0)).toBe(true);
    expect(await store.acquire(long('a'), 'c', 0)).toBe(false);
    expect([await store.owner(long('a')), await store.owner(long('b'))]).toEqual(['a', 'b']);
    expect(await store.release(long('a'), 'a')).toBe(true);
    expect(await store.isLocked(long('a'))).toBe(false);
  });

  it('refuses owners the table would truncate, and bad TTLs, with a clear error', async () => {
    await expect(store.acquire('', 'a', 0)).rejects.toThrow('A lock key must be a non-empty string, got "".');
    await expect(store.acquire('k', 'o'.repeat(256), 0)).rejects.toThrow(
      'The owner of lock k must be 1 to 255 characters',
    );
    await expect(store.acquire('k', '', 0)).rejects.toThrow('The owner of lock k must be 1 to 255 characters');
    await expect(store.acquire('k', 'a', 1.5)).rejects.toThrow(
      'The TTL of lock k must be a whole number of seconds ≥ 0',
    );
  });

  it('queue:locks-table writes a migration that creates the same table as errand migrate', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-locks-stub-'));
    writeMigration(dir, 'stub_locks', readStub('migration.locks.stub'));
    await knex.migrate.latest({ directory: dir, loadExtensions: ['.js'], tableName: 'stub_migrations' });
    expect(await knex('stub_locks').columnInfo()).toEqual(await knex('locks').columnInfo());
    const stubStore = new DatabaseLockStore(
      knex,
      'stub_locks',
      'database',
      databaseQueue((await runtime()).queues).config,
    );
    expect(await stubStore.acquire('Key', 'a', 0)).toBe(true);
    expect(await stubStore.acquire('key', 'b', 0)).toBe(true);
  });

  if (engine === 'sqlite') {
    it('errand queue:locks-table writes the migration file from the CLI', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-locks-cli-'));
      const result = await runCli(['queue:locks-table', '--table', 'app_locks'], dir);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(
        readdirSync(path.join(dir, 'migrations')).filter((f) => f.endsWith('_create_app_locks_table.js')),
      ).toHaveLength(1);
    });
  }

  it('WithoutOverlapping on 8 concurrent slots never runs two jobs of one key at once, and every job runs', async () => {
    const perGroup = 12;
    for (const group of ['A', 'B']) {
      for (let n = 0; n < perGroup; n++) await OverlapJob.dispatch(group, n);
    }
    expect(await createWorker({ concurrency: 8, stopWhenEmpty: true, sleep: 0 }).run()).toBe(0);

    const rows = (
      (await knex('overlap_log').select('grp', 'n', 'attempt', 'started', 'finished')) as Array<
        Record<string, string | number>
      >
    ).map((row) => ({
      group: String(row.grp),
      n: Number(row.n),
      attempt: Number(row.attempt),
      started: Number(row.started),
      finished: Number(row.finished),
    }));
    for (const group of ['A', 'B']) {
      const runs = rows.filter((row) => row.group === group).sort((a, b) => a.started - b.started);
      // Every job ran exactly once …
      expect(runs.map((run) => run.n).sort((a, b) => a - b)).toEqual(Array.from({ length: perGroup }, (_, n) => n));
      // … and each began only after the one before it had finished.
      const overlaps = runs.slice(1).filter((run, i) => run.started < runs[i]!.finished);
      expect(overlaps).toEqual([]);
    }
    // Jobs did find the lock held and were released to run later (so the lock was contended).
    expect(rows.some((row) => row.attempt > 1)).toBe(true);
    expect(await knex('jobs').count({ n: '*' })).toEqual([{ n: engine === 'postgres' ? '0' : 0 }]);
    expect(await knex('failed_jobs').count({ n: '*' })).toEqual([{ n: engine === 'postgres' ? '0' : 0 }]);
    expect(await knex('locks').count({ n: '*' })).toEqual([{ n: engine === 'postgres' ? '0' : 0 }]);
  });
});
