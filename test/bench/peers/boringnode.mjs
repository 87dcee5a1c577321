// @boringnode/queue peer runner, knex adapter, on PostgreSQL (--engine postgres,
// default) or MariaDB/MySQL (--engine mysql), database bench_peers.
//
// API (README.md of @boringnode/queue 0.6.0 in node_modules): jobs are classes
// extending Job with `static options` and `execute()`; QueueManager.init(config)
// with `adapters: { db: knex(knexInstance) }` from
// '@boringnode/queue/drivers/knex_adapter'; tables made by QueueSchemaService
// (createJobsTable / createSchedulesTable: queue_jobs, queue_schedules);
// bulk add Job.dispatchMany(payloads) ("SQL batch insert"), single add
// Job.dispatch(payload); new Worker(config).start(queues).
//
// Presets:
//   default: the documented worker defaults (README "Worker Configuration" and
//            DEFAULT_* in the build): idleDelay '2s' (poll interval when idle),
//            stalledInterval '30s', stalledThreshold '30s', maxStalledCount 1;
//            concurrency = --concurrency; removeOnComplete true (the default:
//            "Remove immediately").
//   fast:    same, with idleDelay '10ms'. The README gives no low-latency
//            recommendation; this is OUR choice, so that an idle worker polls
//            often enough for the latency scenario. It changes nothing while
//            the worker is busy (drain), except the tick that refills free
//            slots (Worker#process races completion against idleDelay).
// The knex pool is max(10, concurrency + 2) connections (the worker pops
// `concurrency` jobs in parallel, each in its own transaction).
// Completion: completed jobs are deleted (removeOnComplete true), so drain ends
// when every handler has run AND queue_jobs has no row for the queue.
//
// Node < 22: @boringnode/queue declares engines node >= 24 and imports `glob`
// from fs/promises (Node 22+) at load time, used only for `locations`
// auto-discovery. On Node < 22 this runner registers _node20-hooks.mjs, which
// hands that one import a stand-in (_node20-fs-glob-shim.mjs). Jobs are
// registered explicitly with Locator.register, so glob is never called.

import fsp from 'node:fs/promises';
import { register } from 'node:module';
import Knex from 'knex';
import {
  BENCH_DB,
  counter,
  emit,
  ensureMysqlDatabase,
  ensurePgDatabase,
  latencyRecorder,
  log,
  MYSQL,
  nowMs,
  PG,
  parseCli,
  round,
  runMain,
  versionOf,
  waitUntil,
} from './_common.mjs';

const SYSTEM = '@boringnode/queue';
const QUEUE = 'bench';
const JOBS_TABLE = 'queue_jobs';
const SCHEDULES_TABLE = 'queue_schedules';

const node20Shim = typeof fsp.glob !== 'function';
if (node20Shim) register('./_node20-hooks.mjs', import.meta.url);
const { Job, Locator, QueueManager, QueueSchemaService, Worker } = await import('@boringnode/queue');
const { knex: knexAdapter } = await import('@boringnode/queue/drivers/knex_adapter');

// stderr-only logger with the shape of the library's ConsoleLogger.
const logger = {
  trace() {},
  debug() {},
  info() {},
  warn: (a, b) => console.error('[queue] WARN:', b ?? a, b ? a : ''),
  error: (a, b) => console.error('[queue] ERROR:', b ?? a, b ? a : ''),
  child() {
    return logger;
  },
};

let onRun = () => {};
class NoopJob extends Job {
  static options = { name: 'NoopJob', queue: QUEUE };
  async execute() {
    onRun(this.payload);
  }
}
Locator.register('NoopJob', NoopJob);

function makeKnex(engine, concurrency) {
  const pool = { min: 0, max: Math.max(10, concurrency + 2) };
  if (engine === 'mysql') {
    return Knex({ client: 'mysql2', connection: { ...MYSQL, database: BENCH_DB }, pool });
  }
  return Knex({ client: 'pg', connection: { ...PG, database: BENCH_DB }, pool });
}

async function main() {
  const { scenario, jobs, concurrency, engine, preset } = parseCli({
    presets: ['default', 'fast'],
    engines: ['postgres', 'mysql'],
  });
  if (engine === 'mysql') await ensureMysqlDatabase();
  else await ensurePgDatabase();

  const db = makeKnex(engine, concurrency);
  await db.schema.dropTableIfExists(JOBS_TABLE);
  await db.schema.dropTableIfExists(SCHEDULES_TABLE);
  const schema = new QueueSchemaService(db);
  await schema.createJobsTable();
  await schema.createSchedulesTable();

  const workerSettings = { concurrency, idleDelay: preset === 'fast' ? '10ms' : '2s' };
  const config = {
    default: 'db',
    adapters: { db: knexAdapter(db) },
    logger,
    worker: { ...workerSettings, gracefulShutdown: false },
  };
  const settings = {
    ...workerSettings,
    stalledInterval: '30s',
    stalledThreshold: '30s',
    maxStalledCount: 1,
    removeOnComplete: true,
    knexPool: { min: 0, max: Math.max(10, concurrency + 2) },
    queue: QUEUE,
    node20Shim,
  };
  const result = { system: SYSTEM, preset, engine, scenario, concurrency, processes: 1, jobs };
  const remaining = async () => Number((await db(JOBS_TABLE).where('queue', QUEUE).count({ n: '*' }))[0].n);

  try {
    if (scenario === 'drain') {
      const worker = new Worker(config);
      await worker.init(); // initialises QueueManager with `config`; does not start consuming
      for (let i = 0; i < jobs; i += 1000) {
        const n = Math.min(1000, jobs - i);
        await NoopJob.dispatchMany(Array.from({ length: n }, (_, k) => ({ i: i + k })));
      }
      log(`${SYSTEM}: inserted ${jobs} jobs (${await remaining()} rows)`);
      const done = counter(jobs);
      onRun = () => done.hit();
      const t0 = nowMs();
      const loop = worker.start([QUEUE]);
      await done.done;
      await waitUntil(async () => (await remaining()) === 0, { what: 'jobs table to empty' });
      const seconds = (nowMs() - t0) / 1000;
      await worker.stop();
      await Promise.race([loop, new Promise((r) => setTimeout(r, 3000))]);
      Object.assign(result, { value: round(jobs / seconds, 1), unit: 'jobs/s', seconds: round(seconds, 3) });
    } else if (scenario === 'enqueue') {
      await QueueManager.init(config);
      const t0 = nowMs();
      for (let i = 0; i < jobs; i++) await NoopJob.dispatch({ i });
      const seconds = (nowMs() - t0) / 1000;
      Object.assign(result, { value: round(jobs / seconds, 1), unit: 'jobs/s', seconds: round(seconds, 3) });
    } else {
      const rec = latencyRecorder(jobs);
      onRun = (payload) => rec.record(payload.enqueuedAt);
      const worker = new Worker(config);
      await worker.init();
      const loop = worker.start([QUEUE]);
      const stats = await rec.run((enqueuedAt) => NoopJob.dispatch({ enqueuedAt }));
      await worker.stop();
      await Promise.race([loop, new Promise((r) => setTimeout(r, 3000))]);
      Object.assign(result, { value: stats.p50, unit: 'ms', p95: stats.p95, p99: stats.p99, max: stats.max });
    }
  } finally {
    await QueueManager.destroy?.().catch?.(() => {});
    await db.destroy();
  }
  emit({ ...result, settings, version: versionOf('@boringnode/queue') });
}

runMain(main);
