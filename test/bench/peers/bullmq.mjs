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
// Bulk add: Queue.addBulk() (one MULTI per call; chunks of 1000 jobs to fill a
// drain; the enqueue-bulk scenario times one addBulk() of all the jobs, as
// errand's times one Queue.bulk()).
// Completion: the worker's 'completed' event fires after the job was moved
// to completed (here: removed, because of removeOnComplete); drain ends when
// N 'completed' events were seen and getJobCounts() shows nothing waiting,
// active or delayed. Each run uses its own queue name and obliterates it at
// the end.
// latency-process: the worker is a second process (this script again, with
// --scenario latency-worker and the queue name in BENCH_BULLMQ_QUEUE), idle for
// 5.5 s, then this process adds 200 jobs 10 ms apart, as errand's latency
// scenario does. memory-per-job: Redis used_memory (INFO memory) before and
// after adding the jobs, per job, and the same from MEMORY USAGE of the queue's
// keys (which other clients of the server cannot disturb).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';
import {
  counter,
  emit,
  latencyRecorder,
  log,
  nowMs,
  parseCli,
  percentile,
  REDIS,
  round,
  runMain,
  sleep,
  versionOf,
  waitUntil,
} from './_common.mjs';

const SYSTEM = 'bullmq';

async function main() {
  const { scenario, jobs, concurrency, preset } = parseCli({
    presets: ['default'],
    engines: ['redis'],
    scenarios: ['drain', 'enqueue', 'enqueue-bulk', 'latency', 'latency-process', 'latency-worker', 'memory-per-job'],
  });
  const connection = { host: REDIS.host, port: REDIS.port };
  const workerConnection = { ...connection, maxRetriesPerRequest: null };
  const jobOpts = { removeOnComplete: true };
  if (scenario === 'latency-worker')
    return latencyWorker(process.env.BENCH_BULLMQ_QUEUE, workerConnection, concurrency);
  const queueName = `bench-peers-${process.pid}-${Date.now()}`;
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
    } else if (scenario === 'enqueue-bulk') {
      const all = Array.from({ length: jobs }, (_, i) => ({ name: 'noop', data: { i }, opts: jobOpts }));
      const t0 = nowMs();
      await queue.addBulk(all);
      const seconds = (nowMs() - t0) / 1000;
      Object.assign(result, { value: round(jobs / seconds, 1), unit: 'jobs/s', seconds: round(seconds, 3) });
    } else if (scenario === 'memory-per-job') {
      // A plain client of its own for INFO and MEMORY USAGE (BullMQ's is wrapped in its client adapter).
      const client = new IORedis(connection);
      const used = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))[1]);
      const before = await used();
      for (let i = 0; i < jobs; i += 1000) {
        const n = Math.min(1000, jobs - i);
        await queue.addBulk(Array.from({ length: n }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts: jobOpts })));
      }
      const after = await used();
      const keyBytes = await keyMemory(client, `bull:${queueName}:*`);
      client.disconnect();
      Object.assign(result, {
        scenario: 'bytes-per-job',
        value: round((after - before) / jobs, 1),
        unit: 'bytes/job',
        keyBytesPerJob: round(keyBytes / jobs, 1),
      });
    } else if (scenario === 'latency-process') {
      const worker = spawn(process.execPath, [fileURLToPath(import.meta.url), '--scenario', 'latency-worker'], {
        env: { ...process.env, BENCH_BULLMQ_QUEUE: queueName },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      worker.stdout.on('data', (chunk) => (output += chunk.toString()));
      await waitUntil(async () => output.includes('ready'), { what: 'the worker process to be ready' });
      // Idle long enough for the worker to sit in its blocking wait, as errand's latency scenario does.
      await sleep(5500);
      for (let i = 0; i < jobs; i++) {
        await queue.add('noop', { enqueuedAt: nowMs() }, jobOpts);
        await sleep(10);
      }
      await waitUntil(
        async () => {
          const c = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'paused');
          return Object.values(c).every((n) => n === 0);
        },
        { what: 'queue to be empty' },
      );
      await sleep(200);
      worker.kill('SIGTERM');
      await once(worker, 'exit');
      const latencies = JSON.parse(output.slice(output.indexOf('{'))).latencies.sort((a, b) => a - b);
      if (latencies.length !== jobs) throw new Error(`latency-process: the worker saw ${latencies.length} of ${jobs}`);
      Object.assign(result, {
        scenario: 'latency',
        workerProcess: 'separate',
        value: round(percentile(latencies, 50)),
        unit: 'ms p50',
        p95: round(percentile(latencies, 95)),
        p99: round(percentile(latencies, 99)),
      });
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

/** The idle worker of latency-process: records each job's enqueue→start time until SIGTERM. */
async function latencyWorker(queueName, connection, concurrency) {
  if (!queueName) throw new Error('latency-worker: BENCH_BULLMQ_QUEUE names no queue');
  const latencies = [];
  const worker = new Worker(queueName, async (job) => latencies.push(nowMs() - job.data.enqueuedAt), {
    connection,
    concurrency,
  });
  worker.on('error', (err) => log(`${SYSTEM} worker error:`, err));
  await worker.waitUntilReady();
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.once('SIGTERM', resolve));
  await worker.close();
  process.stdout.write(`${JSON.stringify({ latencies })}\n`);
}

/** The sum of MEMORY USAGE over the keys matching `pattern` (SCAN, then one pipeline per batch). */
async function keyMemory(client, pattern) {
  let total = 0;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipeline = client.pipeline();
    for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', 0);
    for (const [error, bytes] of await pipeline.exec()) if (!error) total += Number(bytes ?? 0);
  } while (cursor !== '0');
  return total;
}

runMain(main);
