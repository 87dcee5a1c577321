// graphile-worker peer runner.
//
// Presets (see README.md):
//   default: library defaults (graphile-worker 0.18 `makeWorkerPresetWorkerOptions`
//            in dist/config.js): pollInterval 2000 ms, maxPoolSize 10, no local
//            queue (localQueue.size -1), completeJobBatchDelay -1,
//            failJobBatchDelay -1; concurrentJobs = --concurrency.
//   fast:    the batching options from the "Performance" page of the docs
//            (https://worker.graphile.org/docs/performance, the configuration
//            behind their quick stats): localQueue: { size: 500 },
//            completeJobBatchDelay: 0, failJobBatchDelay: 0, and maxPoolSize =
//            concurrentJobs + 1 (their example runs concurrentJobs 24 with
//            maxPoolSize 25); never below the default pool of 10.
//            Option names checked against dist/index.d.ts of 0.18.0
//            (GraphileConfig.WorkerOptions.localQueue.size,
//            completeJobBatchDelay, failJobBatchDelay).
// Jobs are added with workerUtils.addJobs() (bulk, drain setup) and
// workerUtils.addJob() (one at a time, enqueue/latency). New jobs wake the
// worker via LISTEN/NOTIFY, so pollInterval only matters for future/retried jobs.
// Completion: graphile deletes a job row when it completes, so drain ends when
// every handler has run AND <schema>._private_jobs is empty.
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import {
  counter,
  emit,
  ensurePgDatabase,
  latencyRecorder,
  log,
  nowMs,
  parseCli,
  pgConnectionString,
  pgQuery,
  round,
  runMain,
  versionOf,
  waitUntil,
} from './_common.mjs';

const SYSTEM = 'graphile-worker';
const SCHEMA = 'bench_graphile_worker';
const TASK = 'noop';

// Logger that only writes warnings/errors, to stderr (stdout carries the result line).
const logger = new Logger((_scope) => (level, message) => {
  if (level === 'error' || level === 'warning') console.error(`[graphile-worker ${level}] ${message}`);
});

function workerSettings(preset, concurrency) {
  const base = {
    connectionString: pgConnectionString(),
    schema: SCHEMA,
    concurrentJobs: concurrency,
    logger,
  };
  if (preset === 'fast') {
    return {
      ...base,
      maxPoolSize: Math.max(10, concurrency + 1),
      localQueue: { size: 500 },
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
    };
  }
  return base; // pollInterval 2000, maxPoolSize 10, batching disabled: library defaults
}

function describe(settings) {
  const { connectionString: _c, logger: _l, ...rest } = settings;
  return {
    pollInterval: 2000,
    maxPoolSize: 10,
    localQueue: { size: -1 },
    completeJobBatchDelay: -1,
    failJobBatchDelay: -1,
    ...rest,
    noHandleSignals: true,
  };
}

async function main() {
  const opts = parseCli({ presets: ['default', 'fast'], engines: ['postgres'] });
  const { scenario, jobs, concurrency, preset } = opts;
  await ensurePgDatabase();
  await pgQuery(`drop schema if exists ${SCHEMA} cascade`);

  const settings = workerSettings(preset, concurrency);
  const utils = await makeWorkerUtils({ connectionString: settings.connectionString, schema: SCHEMA, logger });
  await utils.migrate();

  const startRunner = (taskList) => run({ taskList, noHandleSignals: true, preset: { worker: settings } });

  const result = {
    system: SYSTEM,
    preset,
    engine: 'postgres',
    scenario,
    concurrency,
    processes: 1,
    jobs,
  };

  try {
    if (scenario === 'drain') {
      const specs = Array.from({ length: jobs }, (_, i) => ({ identifier: TASK, payload: { i } }));
      for (let i = 0; i < specs.length; i += 10000) await utils.addJobs(specs.slice(i, i + 10000));
      log(`${SYSTEM}: inserted ${jobs} jobs`);
      const done = counter(jobs);
      const t0 = nowMs();
      const runner = await startRunner({ [TASK]: async () => void done.hit() });
      await done.done;
      await waitUntil(
        async () => Number((await pgQuery(`select count(*)::int as n from ${SCHEMA}._private_jobs`)).rows[0].n) === 0,
        { what: 'jobs table to empty' },
      );
      const seconds = (nowMs() - t0) / 1000;
      await runner.stop();
      Object.assign(result, { value: round(jobs / seconds, 1), unit: 'jobs/s', seconds: round(seconds, 3) });
    } else if (scenario === 'enqueue') {
      const t0 = nowMs();
      for (let i = 0; i < jobs; i++) await utils.addJob(TASK, { i });
      const seconds = (nowMs() - t0) / 1000;
      Object.assign(result, { value: round(jobs / seconds, 1), unit: 'jobs/s', seconds: round(seconds, 3) });
    } else {
      const rec = latencyRecorder(jobs);
      const runner = await startRunner({ [TASK]: async (payload) => rec.record(payload.enqueuedAt) });
      const stats = await rec.run((enqueuedAt) => utils.addJob(TASK, { enqueuedAt }));
      await runner.stop();
      Object.assign(result, { value: stats.p50, unit: 'ms', p95: stats.p95, p99: stats.p99, max: stats.max });
    }
  } finally {
    await utils.release();
  }
  emit({ ...result, settings: describe(settings), version: versionOf('graphile-worker') });
}

runMain(main);
