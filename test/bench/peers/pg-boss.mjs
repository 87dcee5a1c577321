// pg-boss peer runner (PostgreSQL, database bench_peers, schema bench_pgboss).
//
// pg-boss 12 API notes (docs: https://pgboss.io, docs/api/*.md in the repo):
//   `import { PgBoss } from 'pg-boss'`; boss.start() installs the schema;
//   createQueue(name) is required before send/insert/work; work() handlers
//   receive an ARRAY of jobs; insert(name, jobs[]) is the bulk add.
//
// Presets:
//   default: library defaults, except that --concurrency maps to
//            work({ localConcurrency: C }) (C polling workers in this process,
//            docs/api/workers.md "localConcurrency"). Defaults are batchSize 1
//            and pollingIntervalSeconds 2 ("The default options for work() is
//            1 job every 2 seconds", docs/api/workers.md).
//   fast:    the knobs the workers docs give for throughput and latency:
//            batchSize 10 with burstWhenBatchFull true (fetch again immediately
//            while batches come back full), pollingIntervalSeconds 0.5 (the
//            documented minimum), and LISTEN/NOTIFY low-latency dispatch
//            (constructor `useListenNotify: true` + `createQueue(name,
//            { notify: true })`, docs/api/workers.md "Low-latency dispatch with
//            LISTEN/NOTIFY"). localConcurrency = C, so up to C x 10 jobs can be
//            in flight; a batch's jobs run concurrently (Promise.all) and the
//            batch is completed in one statement when the handler resolves.
//            batchSize 10 is our pick; the docs give no number.
// Completion: pg-boss keeps completed jobs (state 'completed') until
// maintenance deletes them, so drain ends when every handler has run AND no
// job of the queue is in a state other than 'completed'.
import { PgBoss } from 'pg-boss';
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

const SYSTEM = 'pg-boss';
const SCHEMA = 'bench_pgboss';
const QUEUE = 'noop';

function presetSettings(preset, concurrency) {
  if (preset === 'fast') {
    return {
      constructor: { schema: SCHEMA, useListenNotify: true },
      queue: { notify: true },
      work: { localConcurrency: concurrency, batchSize: 10, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 },
    };
  }
  return {
    constructor: { schema: SCHEMA },
    queue: {},
    work: { localConcurrency: concurrency },
  };
}

async function main() {
  const { scenario, jobs, concurrency, preset } = parseCli({ presets: ['default', 'fast'], engines: ['postgres'] });
  await ensurePgDatabase();
  await pgQuery(`drop schema if exists ${SCHEMA} cascade`);

  const settings = presetSettings(preset, concurrency);
  const boss = new PgBoss({ connectionString: pgConnectionString(), ...settings.constructor });
  boss.on('error', (err) => log(`${SYSTEM} error:`, err));
  await boss.start();
  await boss.createQueue(QUEUE, settings.queue);

  const result = { system: SYSTEM, preset, engine: 'postgres', scenario, concurrency, processes: 1, jobs };
  const runBatch = (fn) => async (batch) => {
    await Promise.all(batch.map(fn));
  };

  try {
    if (scenario === 'drain') {
      for (let i = 0; i < jobs; i += 5000) {
        const n = Math.min(5000, jobs - i);
        await boss.insert(
          QUEUE,
          Array.from({ length: n }, (_, k) => ({ data: { i: i + k } })),
        );
      }
      log(`${SYSTEM}: inserted ${jobs} jobs`);
      const done = counter(jobs);
      const t0 = nowMs();
      await boss.work(
        QUEUE,
        settings.work,
        runBatch(async () => void done.hit()),
      );
      await done.done;
      await waitUntil(
        async () =>
          Number(
            (
              await pgQuery(`select count(*)::int as n from ${SCHEMA}.job where name = $1 and state <> 'completed'`, [
                QUEUE,
              ])
            ).rows[0].n,
          ) === 0,
        { what: 'all jobs completed' },
      );
      const seconds = (nowMs() - t0) / 1000;
      await boss.offWork(QUEUE);
      Object.assign(result, { value: round(jobs / seconds, 1), unit: 'jobs/s', seconds: round(seconds, 3) });
    } else if (scenario === 'enqueue') {
      const t0 = nowMs();
      for (let i = 0; i < jobs; i++) await boss.send(QUEUE, { i });
      const seconds = (nowMs() - t0) / 1000;
      Object.assign(result, { value: round(jobs / seconds, 1), unit: 'jobs/s', seconds: round(seconds, 3) });
    } else {
      const rec = latencyRecorder(jobs);
      await boss.work(
        QUEUE,
        settings.work,
        runBatch(async (job) => rec.record(job.data.enqueuedAt)),
      );
      const stats = await rec.run((enqueuedAt) => boss.send(QUEUE, { enqueuedAt }));
      await boss.offWork(QUEUE);
      Object.assign(result, { value: stats.p50, unit: 'ms', p95: stats.p95, p99: stats.p99, max: stats.max });
    }
  } finally {
    await boss.stop({ graceful: true, timeout: 5000 });
  }
  emit({ ...result, settings, version: versionOf('pg-boss') });
}

runMain(main);
