import type { Knex } from 'knex';

import { type JobMetricsSample, METRICS_BUCKETS_MS } from '../../src/contracts/metrics-repository.js';
import type { Queue } from '../../src/contracts/queue.js';
import { dialect, type Engine } from '../../src/drivers/database/dialect.js';
import { rawPayload } from './raw-jobs.js';

/*
 * Tables at the dashboard's scale, written by the database itself: one INSERT … SELECT over a
 * generated series per table (generate_series on PostgreSQL, MariaDB's seq_1_to_N, a recursive
 * CTE on SQLite), so a million rows take seconds, not the minutes a client-side loop would on a
 * shared machine. Used by the bench's dashboard phase and by the PostgreSQL plan test.
 */

/** The queues the seeded rows spread over, evenly. */
export const SEEDED_QUEUES = ['default', 'emails', 'reports', 'webhooks'] as const;

/**
 * The job names, skewed as real traffic is: 80% the first, 19% the second, 1% the third, so a
 * filter by name is measured both where it matches most rows and where it matches few.
 */
export const SEEDED_JOBS = ['SendWelcomeEmail', 'BuildMonthlyReport', 'PurgeStaleSessions'] as const;

/** Text in one failed job's exception out of every 1,000: a search that matches few rows. */
export const RARE_EXCEPTION_TEXT = 'ECONNRESET by rare-upstream';

/** How many rows of each kind to write. */
export interface DashboardSeedSize {
  /** Pending jobs (available now), in `jobs`. */
  pending: number;
  /** Delayed jobs (available later). */
  delayed: number;
  /** Reserved jobs, held by the live workers. */
  reserved: number;
  /** Records in `failed_jobs`, spread over the last 7 days. */
  failed: number;
  /** Rows in `job_batches`. */
  batches: number;
  /** Registered workers with a heartbeat in the future, and lost ones whose lapsed. */
  liveWorkers: number;
  lostWorkers: number;
}

/** Where the rows go: errand's default table names unless a connection renames them. */
export interface SeedTables {
  jobs: string;
  failedJobs: string;
  batches: string;
  workers: string;
}

export const DEFAULT_TABLES: SeedTables = {
  jobs: 'jobs',
  failedJobs: 'failed_jobs',
  batches: 'job_batches',
  workers: 'queue_workers',
};

/** A series 1…count as a table `s` with column `n`, and the WITH clause it needs first (SQLite). */
function series(engine: Engine, count: number): { with: string; from: string } {
  const n = Math.floor(count);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`dashboard seed: a series needs a count ≥ 1, not ${count}.`);
  if (engine === 'postgres') return { with: '', from: `generate_series(1, ${n}) as s(n)` };
  // MariaDB's Sequence engine serves any seq_1_to_N table without creating it.
  if (engine === 'mysql') return { with: '', from: `(select seq as n from seq_1_to_${n}) as s` };
  return { with: `with recursive s(n) as (select 1 union all select n + 1 from s where n < ${n})`, from: 's' };
}

/** `case` picking a job name by `n`, with the skew of SEEDED_JOBS. */
const nameCase = (values: readonly string[]) => {
  if (values.length !== 3) throw new Error('dashboard seed: one value per seeded job name.');
  return { sql: 'case when s.n % 100 < 80 then ? when s.n % 100 < 99 then ? else ? end', bindings: [...values] };
};

/** `case` picking a queue by `n`, round robin. */
const queueCase = () => ({
  sql: `case s.n % ${SEEDED_QUEUES.length} ${SEEDED_QUEUES.map((_, i) => `when ${i} then ?`).join(' ')} end`,
  bindings: [...SEEDED_QUEUES],
});

/** One payload per seeded job name, in Laravel's shape (as any producer writes it). */
export function seededPayloads(now: number): string[] {
  return SEEDED_JOBS.map((name) => rawPayload({ name, command: { account: 42, note: 'seeded' } }, now));
}

/** Unix seconds now, by this machine's clock (the database's is the same machine's). */
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The id of the n-th seeded worker (0-based). */
export const seededWorkerId = (n: number) => `seed-worker-${n}`;

/**
 * Writes pending, delayed and reserved jobs into `jobs`, spread over SEEDED_QUEUES and SEEDED_JOBS.
 * Pending jobs became available over the last day; delayed ones come due over the next; reserved
 * ones are held by the live seeded workers.
 */
export async function seedJobs(knex: Knex, engine: Engine, size: DashboardSeedSize, table = 'jobs'): Promise<void> {
  const now = nowSeconds();
  const payload = nameCase(seededPayloads(now));
  const queue = queueCase();
  const insert = async (count: number, columns: Record<string, string>, bindings: string[] = []) => {
    if (count <= 0) return;
    const { with: withClause, from } = series(engine, count);
    await knex.raw(
      `insert into ?? (queue, payload, attempts, exceptions, ${Object.keys(columns).join(', ')}) ${withClause} ` +
        `select ${queue.sql}, ${payload.sql}, 0, 0, ${Object.values(columns).join(', ')} from ${from}`,
      [table, ...queue.bindings, ...payload.bindings, ...bindings],
    );
  };
  await insert(size.pending, {
    available_at: `${now} - 1 - (${size.pending} - s.n) % 86400`,
    created_at: `${now} - 1 - (${size.pending} - s.n) % 86400`,
  });
  await insert(size.delayed, { available_at: `${now} + 60 + s.n % 86400`, created_at: `${now}` });
  const holders = Math.max(1, size.liveWorkers);
  await insert(
    size.reserved,
    {
      available_at: `${now} - 120`,
      created_at: `${now} - 120`,
      reserved_at: `${now} - s.n % 60`,
      reserved_by: dialect.concatSql(engine, ['?', `s.n % ${holders}`]),
    },
    ['seed-worker-'],
  );
}

/**
 * Writes `size.failed` records into `failed_jobs` on connection `connection`, one every
 * 7 days / count back from now, newest first by id order reversed. Fills the `job` (display
 * name) column when the table has one.
 */
export async function seedFailedJobs(
  knex: Knex,
  engine: Engine,
  size: Pick<DashboardSeedSize, 'failed'>,
  connection: string,
  table = 'failed_jobs',
): Promise<void> {
  if (size.failed <= 0) return;
  const step = Math.max(1, Math.floor((7 * 86_400) / size.failed));
  const { with: withClause, from } = series(engine, size.failed);
  const uuid =
    engine === 'postgres'
      ? 'gen_random_uuid()::text'
      : engine === 'mysql'
        ? 'uuid()'
        : "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))";
  const failedAt =
    engine === 'postgres'
      ? `current_timestamp - (s.n * ${step}) * interval '1 second'`
      : engine === 'mysql'
        ? `current_timestamp - interval (s.n * ${step}) second`
        : `datetime('now', '-' || (s.n * ${step}) || ' seconds')`;
  const payload = nameCase(seededPayloads(nowSeconds()));
  const exceptionHead = nameCase([
    'Error: SMTP 421 try again later',
    'RangeError: report period has no rows',
    'Error: session store unreachable',
  ]);
  const exception = dialect.concatSql(engine, [exceptionHead.sql, `case when s.n % 1000 = 0 then ? else '' end`, '?']);
  const queue = queueCase();
  const job = nameCase(SEEDED_JOBS);
  const withJob = await knex.schema.hasColumn(table, 'job');
  await knex.raw(
    `insert into ?? (uuid, connection, queue, payload, exception, failed_at${withJob ? ', job' : ''}) ${withClause} ` +
      `select ${uuid}, ?, ${queue.sql}, ${payload.sql}, ${exception}, ${failedAt}${withJob ? `, ${job.sql}` : ''} from ${from}`,
    [
      table,
      connection,
      ...queue.bindings,
      ...payload.bindings,
      ...exceptionHead.bindings,
      ` (${RARE_EXCEPTION_TEXT})`,
      '\n    at handle (app/jobs/handler.js:12:7)\n    at process (errand/worker.js:88:3)',
      ...(withJob ? job.bindings : []),
    ],
  );
}

/** Writes `size.batches` finished and unfinished batches into `job_batches`, one a minute back from now. */
export async function seedBatches(
  knex: Knex,
  engine: Engine,
  size: Pick<DashboardSeedSize, 'batches'>,
  table = 'job_batches',
): Promise<void> {
  if (size.batches <= 0) return;
  const now = nowSeconds();
  const { with: withClause, from } = series(engine, size.batches);
  const id = dialect.concatSql(engine, ['?', 's.n']);
  const name = dialect.concatSql(engine, ['?', 's.n']);
  await knex.raw(
    `insert into ?? (id, name, total_jobs, pending_jobs, failed_jobs, failed_job_ids, options, created_at, finished_at, callbacks_run) ${withClause} ` +
      `select ${id}, ${name}, 100, case when s.n % 10 = 0 then 40 else 0 end, s.n % 3, '[]', null, ${now} - s.n * 60, ` +
      `case when s.n % 10 = 0 then null else ${now} - s.n * 60 + 30 end, 0 from ${from}`,
    [table, 'seed-batch-', 'Nightly import #'],
  );
}

/**
 * Registers `liveWorkers` workers with a heartbeat lease far ahead and `lostWorkers` whose lease
 * lapsed, each serving every seeded queue, as rows in the workers table.
 */
export async function seedWorkers(
  knex: Knex,
  size: Pick<DashboardSeedSize, 'liveWorkers' | 'lostWorkers'>,
  connection: string,
  table = 'queue_workers',
): Promise<void> {
  const now = nowSeconds();
  const rows = Array.from({ length: size.liveWorkers + size.lostWorkers }, (_, i) => {
    const lost = i >= size.liveWorkers;
    return {
      id: seededWorkerId(i),
      name: `seed-host-${i % 3}:${1000 + i}`,
      connection,
      queues: SEEDED_QUEUES.join(','),
      hostname: `seed-host-${i % 3}`,
      pid: 1000 + i,
      concurrency: 10,
      started_at: now - 3600,
      last_heartbeat_at: lost ? now - 600 : now,
      expires_at: lost ? now - 300 : now + 86_400,
    };
  });
  if (rows.length) await knex(table).insert(rows);
}

/** Everything above on a database connection, then fresh planner statistics. */
export async function seedDashboardTables(
  knex: Knex,
  engine: Engine,
  size: DashboardSeedSize,
  connection: string,
  tables: SeedTables = DEFAULT_TABLES,
): Promise<void> {
  await seedWorkers(knex, size, connection, tables.workers);
  await seedJobs(knex, engine, size, tables.jobs);
  await seedFailedJobs(knex, engine, size, connection, tables.failedJobs);
  await seedBatches(knex, engine, size, tables.batches);
  await analyze(knex, engine, Object.values(tables));
}

/**
 * Fresh statistics, as a server's autovacuum or a DBA's routine keeps them (the bench's and the
 * tests' PostgreSQL run with autovacuum off). VACUUM also sets PostgreSQL's visibility map, which
 * index-only scans need. SQLite plans without statistics unless ANALYZE ran, as most apps leave it.
 */
export async function analyze(knex: Knex, engine: Engine, tables: readonly string[]): Promise<void> {
  if (engine === 'postgres') for (const table of tables) await knex.raw('vacuum analyze ??', [table]);
  if (engine === 'mysql') for (const table of tables) await knex.raw('analyze table ??', [table]);
}

/**
 * Pending and delayed jobs through a queue's own `bulk` (the Redis driver, which has no SQL to
 * generate rows with), spread as seedJobs spreads them; chunks of 5,000.
 */
export async function pushSeededJobs(
  queue: Queue,
  size: Pick<DashboardSeedSize, 'pending' | 'delayed'>,
): Promise<void> {
  const payloads = seededPayloads(nowSeconds());
  const pick = (i: number) => payloads[i % 100 < 80 ? 0 : i % 100 < 99 ? 1 : 2]!;
  const push = async (count: number, delay: (i: number) => number | undefined) => {
    for (let start = 0; start < count; start += 5000) {
      const requests = Array.from({ length: Math.min(5000, count - start) }, (_, k) => {
        const i = start + k + 1;
        const seconds = delay(i);
        return {
          queue: SEEDED_QUEUES[i % SEEDED_QUEUES.length]!,
          payload: pick(i),
          ...(seconds === undefined ? {} : { delay: seconds }),
        };
      });
      await queue.bulk(requests);
    }
  };
  await push(size.pending, () => undefined);
  await push(size.delayed, (i) => 60 + (i % 86_400));
}

/** The part of a MetricsRepository the seeder writes through. */
interface MetricsSink {
  record(samples: readonly JobMetricsSample[]): Promise<void>;
}

/**
 * The rollup of `finished` attempts over the `days` before now, as workers would have written it:
 * one sample per minute, queue and job name, the finished attempts spread evenly over the minutes
 * and queues and split 80/19/1 over SEEDED_JOBS; about 2% of the second name's attempts failed,
 * and 1% of all attempts were released. Run times and waits fall in a few buckets per name, so percentiles
 * differ between names. Written through the repository's own `record`, 1,000 samples a call.
 * Resolves to the number of samples written.
 */
export async function seedMetrics(repository: MetricsSink, finished: number, days = 7): Promise<number> {
  const minutes = days * 1440;
  const first = Math.floor(Date.now() / 60_000) * 60 - minutes * 60;
  const cells = minutes * SEEDED_QUEUES.length;
  const bucketsWith = (index: number, count: number) => {
    const buckets = new Array<number>(METRICS_BUCKETS_MS.length + 1).fill(0);
    buckets[index] = count;
    return buckets;
  };
  // Per name: the bucket its run times fall in and their mean, and the bucket of its waits.
  const shapes = [
    { runtimeBucket: 4, runtimeMs: 15, waitBucket: 3 },
    { runtimeBucket: 9, runtimeMs: 800, waitBucket: 6 },
    { runtimeBucket: 6, runtimeMs: 80, waitBucket: 4 },
  ];
  let batch: JobMetricsSample[] = [];
  let written = 0;
  for (let cell = 0; cell < cells; cell++) {
    const total = Math.floor(((cell + 1) * finished) / cells) - Math.floor((cell * finished) / cells);
    const rare = cell % 100 === 0 ? Math.min(total, 1) : 0;
    const second = Math.round(total * 0.19);
    const counts = [total - second - rare, second, rare];
    for (const [j, attempts] of counts.entries()) {
      if (attempts <= 0) continue;
      // A cell holds a few attempts: one failure in every 10th cell of the second name is 2% of
      // its attempts, one release in every 4th cell 1% of all.
      const failed = j === 1 && cell % 10 === 0 ? 1 : 0;
      const released = j === 0 && cell % 4 === 0 ? 1 : 0;
      const shape = shapes[j]!;
      batch.push({
        minute: first + Math.floor(cell / SEEDED_QUEUES.length) * 60,
        queue: SEEDED_QUEUES[cell % SEEDED_QUEUES.length]!,
        job: SEEDED_JOBS[j]!,
        completed: attempts - failed,
        failed,
        released,
        runtimeMsSum: (attempts + released) * shape.runtimeMs,
        runtimeBuckets: bucketsWith(shape.runtimeBucket, attempts + released),
        waitMsSum: (attempts + released) * METRICS_BUCKETS_MS[shape.waitBucket - 1]!,
        waitBuckets: bucketsWith(shape.waitBucket, attempts + released),
      });
    }
    if (batch.length >= 1000 || cell === cells - 1) {
      await repository.record(batch);
      written += batch.length;
      batch = [];
    }
  }
  return written;
}
