// BullMQ peer runner (Redis backend, 127.0.0.1:6379).
//
// Settings: the default `new Worker(queue, processor, { connection, concurrency })`
// with concurrency = --concurrency (BullMQ docs, "Workers > Concurrency":
// https://docs.bullmq.io/guide/workers/concurrency -- concurrency is the knob
// for parallel async jobs in one worker), and `removeOnComplete: true` on every
// job (https://docs.bullmq.io/guide/queues/auto-removal-of-jobs) so Redis does
// not grow during the run. Everything else is left at its default (blocking
// BZPOPMIN fetch, drainDelay 5 s, stalledInterval 30 s, lockDuration 30 s).
// The worker connection uses `maxRetriesPerRequest: null`, which BullMQ
// requires for worker connections (https://docs.bullmq.io/guide/going-to-production).
// There is one preset: "default".
// Bulk add: Queue.addBulk() (one MULTI per call; chunks of 1000 jobs).
// Completion: the worker's 'completed' event fires after the job was moved
// to completed (here: removed, because of removeOnComplete); drain ends when
// N 'completed' events were seen and getJobCounts() shows nothing waiting,
// active or delayed. Each run uses its own queue name and obliterates it at
// the end.
import { Queue, Worker } from 'bullmq';
import {
  counter,
  emit,
  latencyRecorder,
  log,
  nowMs,
  parseCli,
  REDIS,
  round,
  runMain,
  versionOf,
  waitUntil,
} from './_common.mjs';

const SYSTEM = 'bullmq';

async function main() {
  const { scenario, jobs, concurrency, preset } = parseCli({ presets: ['default'], engines: ['redis'] });
  const queueName = `bench-peers-${process.pid}-${Date.now()}`;
  const connection = { host: REDIS.host, port: REDIS.port };
  const workerConnection = { ...connection, maxRetriesPerRequest: null };
  const jobOpts = { removeOnComplete: true };
  const queue = new Queue(queueName, { connection, defaultJobOptions: jobOpts });
  await queue.waitUntilReady();
  const settings = { concurrency, removeOnComplete: true, queue: queueName, connection: 'redis://127.0.0.1:6379' };
  const result = { system: SYSTEM, preset, engine: 'redis', scenario, concurrency, processes: 1, jobs };

  const startWorker = (processor, onCompleted) => {
    const worker = new Worker(queueName, processor, { connection: workerConnection, concurrency });
    if (onCompleted) worker.on('completed', onCompleted);
    worker.on('error', (err) => log(`${SYSTEM} worker error:`, err));
    return worker;
  };

  try {
    if (scenario === 'drain') {
      for (let i = 0; i < jobs; i += 1000) {
        const n = Math.min(1000, jobs - i);
        await queue.addBulk(Array.from({ length: n }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts: jobOpts })));
      }
      log(`${SYSTEM}: inserted ${jobs} jobs`);
      const done = counter(jobs);
      const t0 = nowMs();
      const worker = startWorker(
        async () => {},
        () => done.hit(),
      );
      await done.done;
      await waitUntil(
        async () => {
          const c = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'paused');
          return Object.values(c).every((n) => n === 0);
        },
        { what: 'queue to be empty' },
      );
      const seconds = (nowMs() - t0) / 1000;
      await worker.close();
      Object.assign(result, { value: round(jobs / seconds, 1), unit: 'jobs/s', seconds: round(seconds, 3) });
    } else if (scenario === 'enqueue') {
      const t0 = nowMs();
      for (let i = 0; i < jobs; i++) await queue.add('noop', { i }, jobOpts);
      const seconds = (nowMs() - t0) / 1000;
      Object.assign(result, { value: round(jobs / seconds, 1), unit: 'jobs/s', seconds: round(seconds, 3) });
    } else {
      const rec = latencyRecorder(jobs);
      const worker = startWorker(async (job) => rec.record(job.data.enqueuedAt));
      await worker.waitUntilReady();
      const stats = await rec.run((enqueuedAt) => queue.add('noop', { enqueuedAt }, jobOpts));
      await worker.close();
      Object.assign(result, { value: stats.p50, unit: 'ms', p95: stats.p95, p99: stats.p99, max: stats.max });
    }
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
  }
  emit({ ...result, settings, version: versionOf('bullmq') });
}

runMain(main);
