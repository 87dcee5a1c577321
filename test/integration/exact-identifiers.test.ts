import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import type { DatabaseConnectionConfig } from '../../src/config/config-types.js';
import { Job } from '../../src/decorators/job.js';
import { createJobsTable } from '../../src/drivers/database/migrations/0001-create-jobs-table.js';
import { createFailedJobsTable } from '../../src/drivers/database/migrations/0002-create-failed-jobs-table.js';
import { createWorkersTable } from '../../src/drivers/database/migrations/0003-create-workers-table.js';
import { createControlsTable } from '../../src/drivers/database/migrations/0004-create-controls-table.js';
import { indexJobsReservedBy } from '../../src/drivers/database/migrations/0005-index-jobs-reserved-by.js';
import { createLocksTable } from '../../src/drivers/database/migrations/0006-create-locks-table.js';
import { createRateLimitsTable } from '../../src/drivers/database/migrations/0007-create-rate-limits-table.js';
import { createJobBatchesTable } from '../../src/drivers/database/migrations/0008-create-job-batches-table.js';
import { indexJobsForClaims } from '../../src/drivers/database/migrations/0009-index-jobs-for-claims.js';
import { MIGRATIONS_TABLE, migrate } from '../../src/drivers/database/migrations/migrate.js';
import type { TableMigration } from '../../src/drivers/database/migrations/table-migration.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { type DatabaseEngine, databaseOnly, freshDatabase } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';

const handled: string[] = [];

@Job({ name: 'ExactQueueJob' })
class ExactQueueJob extends Queueable {
  constructor(public queueName: string) {
    super();
  }

  async handle() {
    handled.push(this.queueName);
  }
}

/** The tables errand's migrations made before 0010, as an install upgraded from then has them. */
const OLD_STEPS: Array<[TableMigration, string]> = [
  [createJobsTable, 'jobs'],
  [createFailedJobsTable, 'failed_jobs'],
  [createWorkersTable, 'queue_workers'],
  [createControlsTable, 'queue_controls'],
  [indexJobsReservedBy, 'jobs'],
  [createLocksTable, 'locks'],
  [createRateLimitsTable, 'rate_limits'],
  [createJobBatchesTable, 'job_batches'],
  [indexJobsForClaims, 'jobs'],
];

const TABLES = {
  jobs: ['jobs'],
  failed: 'failed_jobs',
  workers: ['queue_workers'],
  controls: ['queue_controls'],
  locks: 'locks',
  rateLimits: 'rate_limits',
  batches: 'job_batches',
};

/** The identifier columns 0010 makes exact, by table. */
const IDENTIFIERS: Record<string, string[]> = {
  jobs: ['queue', 'reserved_by'],
  failed_jobs: ['uuid', 'connection', 'queue'],
  queue_workers: ['id', 'name', 'connection'],
  queue_controls: ['key'],
  locks: ['owner'],
  job_batches: ['id'],
};

function rawKnex(connection: DatabaseConnectionConfig): Knex {
  return knexFactory({
    client: connection.client,
    connection: connection.connection as Knex.StaticConnectionConfig,
    useNullAsDefault: true,
  });
}

async function indexesOf(knex: Knex, engine: DatabaseEngine, table: string): Promise<string[]> {
  if (engine === 'sqlite')
    return ((await knex.raw(`pragma index_list(${table})`)) as Array<{ name: string }>).map((row) => row.name).sort();
  if (engine === 'mysql') {
    const [rows] = (await knex.raw(
      'select distinct index_name as name from information_schema.statistics where table_schema = database() and table_name = ?',
      [table],
    )) as [Array<{ name: string }>];
    return rows.map((row) => row.name).sort();
  }
  const { rows } = (await knex.raw('select indexname as name from pg_indexes where tablename = ?', [table])) as {
    rows: Array<{ name: string }>;
  };
  return rows.map((row) => row.name).sort();
}

async function mysqlCollations(knex: Knex, table: string): Promise<Record<string, string>> {
  const [rows] = (await knex.raw(
    'select column_name as name, collation_name as collation from information_schema.columns where table_schema = database() and table_name = ?',
    [table],
  )) as [Array<{ name: string; collation: string | null }>];
  return Object.fromEntries(
    rows.filter((row) => IDENTIFIERS[table]!.includes(row.name)).map((row) => [row.name, row.collation ?? 'binary']),
  );
}

const describeEachSql = databaseOnly("checks the SQL tables' indexes and collations");
await describeEachSql('identifiers compare exactly', (engine) => {
  let knex: Knex;

  beforeAll(async () => {
    const connection = await freshDatabase(engine, 'exact_identifiers');
    await boot({ default: 'database', connections: { database: connection } });
    await runMigrations();
    knex = databaseQueue((await runtime()).queues).knex;
  });
  afterAll(() => shutdown());
  beforeEach(async () => {
    handled.length = 0;
    await knex('jobs').delete();
  });

  it('a worker of MAIL takes no job of mail, "mail " or mäil', async () => {
    const near = ['mail', 'mail ', 'mäil', 'Mail'];
    await insertJobsForTest(knex, 'jobs', near.length, (i) => ({
      name: ExactQueueJob.name,
      command: { queueName: near[i]! },
      queue: near[i]!,
    }));
    expect(await createWorker({ queues: ['MAIL'], stopWhenEmpty: true, sleep: 0 }).run()).toBe(0);
    expect(handled).toEqual([]);
    const queue = databaseQueue((await runtime()).queues);
    expect(await queue.size('MAIL')).toBe(0);
    expect(await queue.size('mail')).toBe(1);
    await createWorker({ queues: ['mail'], stopWhenEmpty: true, sleep: 0 }).run();
    expect(handled).toEqual(['mail']);
  });

  it('pausing MAIL leaves mail running', async () => {
    const queue = databaseQueue((await runtime()).queues);
    expect(await queue.pause('MAIL')).toBe(true);
    try {
      expect(await queue.pause('mail')).toBe(true);
      expect(await queue.resume('mail')).toBe(true);
      await insertJobsForTest(knex, 'jobs', 1, () => ({
        name: ExactQueueJob.name,
        command: { queueName: 'mail' },
        queue: 'mail',
      }));
      await createWorker({ queues: ['mail'], stopWhenEmpty: true, sleep: 0 }).run();
      expect(handled).toEqual(['mail']);
    } finally {
      await queue.resume('MAIL');
    }
  });

  it('migrate converts the identifier columns of tables made by the old migrations, keeping their indexes and rows', async () => {
    const connection = await freshDatabase(engine, 'exact_identifiers_old');
    const old = rawKnex(connection);
    try {
      await old.migrate.latest({
        tableName: MIGRATIONS_TABLE,
        disableMigrationsListValidation: true,
        migrationSource: {
          getMigrations: async () => OLD_STEPS,
          getMigrationName: ([migration, table]) => `${migration.name} (${table})`,
          getMigration: async ([migration, table]) => ({
            up: (k: Knex) => migration.up(k, table),
            down: (k: Knex) => migration.down(k, table),
          }),
        },
      });
      const now = Math.floor(Date.now() / 1000);
      await old('jobs').insert({ queue: 'mail', payload: '{}', attempts: 0, available_at: now, created_at: now });
      await old('failed_jobs').insert({
        uuid: 'abc',
        connection: 'database',
        queue: 'fq',
        payload: '{}',
        exception: 'e',
      });
      const loose = Number(
        ((await old('jobs').where({ queue: 'MAIL' }).count({ n: '*' })) as Array<{ n: number | string }>)[0]!.n,
      );
      // The defect this migration mends: the old tables compared loosely on MySQL/MariaDB only.
      expect(loose).toBe(engine === 'mysql' ? 1 : 0);
      const before = Object.fromEntries(
        await Promise.all(
          Object.keys(IDENTIFIERS).map(async (table) => [table, await indexesOf(old, engine, table)] as const),
        ),
      );

      const ran = await migrate(old, TABLES);
      expect(ran.sort()).toEqual(
        [
          '0010_exact_identifiers_jobs (jobs)',
          '0010_exact_identifiers_failed_jobs (failed_jobs)',
          '0010_exact_identifiers_workers (queue_workers)',
          '0010_exact_identifiers_controls (queue_controls)',
          '0010_exact_identifiers_locks (locks)',
          '0010_exact_identifiers_rate_limits (rate_limits)',
          '0010_exact_identifiers_job_batches (job_batches)',
          // Not this test's concern, but due on a table made before it too.
          '0011_rate_limit_windows_in_milliseconds (rate_limits)',
          '0012_failed_jobs_job_column (failed_jobs)',
        ].sort(),
      );
      expect(await migrate(old, TABLES)).toEqual([]);

      for (const [table, indexes] of Object.entries(before)) {
        // 0012 adds failed_jobs' job-name indexes; every index there before is kept.
        const added =
          table === 'failed_jobs' ? ['failed_jobs_connection_queue_job_id_index', 'failed_jobs_job_id_index'] : [];
        expect(await indexesOf(old, engine, table)).toEqual([...indexes, ...added].sort());
      }
      if (engine === 'mysql') {
        for (const table of Object.keys(IDENTIFIERS)) {
          for (const [column, collation] of Object.entries(await mysqlCollations(old, table))) {
            expect([column, collation]).toEqual([
              column,
              expect.stringMatching(/^(utf8mb4_nopad_bin|utf8mb4_0900_bin)$/),
            ]);
          }
        }
      }
      for (const queue of ['MAIL', 'mail ', 'mäil'])
        expect(await old('jobs').where({ queue }).select('id')).toEqual([]);
      expect(await old('jobs').where({ queue: 'mail' }).select('queue')).toEqual([{ queue: 'mail' }]);
      // The unique uuid now tells case apart, so two uuids differing only in case are two records.
      await old('failed_jobs').insert({
        uuid: 'ABC',
        connection: 'database',
        queue: 'fq',
        payload: '{}',
        exception: 'e',
      });
      expect(
        ((await old('failed_jobs').select('uuid').orderBy('id')) as Array<{ uuid: string }>).map((row) => row.uuid),
      ).toEqual(['abc', 'ABC']);
    } finally {
      await old.destroy();
    }
  });
});
