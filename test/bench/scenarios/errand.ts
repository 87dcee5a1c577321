import 'reflect-metadata';

import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Queue } from '../../../src/bus/queue.js';
import { boot, shutdown } from '../../../src/runtime/boot.js';
import { runtime } from '../../../src/runtime/current.js';
import { runMigrations } from '../../../src/runtime/run-migrations.js';
import { createWorker } from '../../../src/worker/create-worker.js';
import { databaseQueue } from '../../helpers/database-queue.js';
import { BenchNoop, BenchPing, clock, handled } from '../bench-jobs.js';
import { profiled } from '../cpu-profile.js';
import { type BenchEngine, bootConfig, emptyDatabase } from '../engines.js';
import { emit, quantile, round } from '../measurement.js';
import { clearRedisPrefix, keyMemory, usedMemory } from '../redis-server.js';
import { startTelemetry, startTracing, TELEMETRY_MODES, type TelemetryMode, tracesJobs } from '../telemetry.js';

/*
 * errand's own figures, one scenario per process (so RSS and JIT state do not leak between
 * them). Run by test/bench/run.ts; by hand:
 *   node test/bench/.build/test/bench/scenarios/errand.js --engine sqlite --sqlite /tmp/x.sqlite --scenario drain --jobs 20000 --concurrency 10
 */

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', default: 'sqlite' },
    sqlite: { type: 'string' },
    scenario: { type: 'string', default: 'drain' },
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '10' },
    prefetch: { type: 'string' },
    sleep: { type: 'string', default: '3' },
    processes: { type: 'string', default: '4' },
    /** `off`: the worker keeps no metrics rollup (the rollup phase's baseline). */
    metrics: { type: 'string', default: 'on' },
    /** The telemetry phase: `on` registers errand's Prometheus metrics and an OpenTelemetry SDK; `metrics`/`tracing` one of them. */
    telemetry: { type: 'string', default: 'off' },
    /** A file to write a CPU profile of the drain alone to (this thread: the monitor thread is not in it). */
    'profile-drain': { type: 'string' },
  },
});
const engine = args.engine as BenchEngine;
const jobs = Number(args.jobs);
const concurrency = Number(args.concurrency);
// The recommended fast path: a local buffer that one claim fills, as large as graphile-worker's
// local queue in its fast preset (see docs/performance.md).
const prefetch = args.prefetch === undefined ? 500 : Number(args.prefetch);
const rollup = args.metrics !== 'off';
const base = { system: rollup ? 'errand' : 'errand (rollup off)', engine, jobs };
const telemetryMode = args.telemetry as TelemetryMode;
if (!TELEMETRY_MODES.includes(telemetryMode))
  throw new Error(`--telemetry: [${args.telemetry}] is not one of ${TELEMETRY_MODES.join(', ')}.`);
if (telemetryMode !== 'off' && args.scenario !== 'drain')
  throw new Error(`--telemetry ${telemetryMode}: only the drain scenario measures telemetry.`);
startTracing(telemetryMode);

await boot({
  ...bootConfig(engine, args.sqlite),
  metrics: { enabled: rollup },
  // Off is nothing at all: not even the no-op API's calls an application without an SDK makes.
  tracing: { enabled: tracesJobs(telemetryMode) },
});
const app = await runtime();
const telemetry = await startTelemetry(telemetryMode);
const queue = app.queues.worker();
if (args.scenario !== 'latency-worker' && args.scenario !== 'drain-worker') {
  // Fresh tables, as each peer recreates its schema; this also keeps the bench machine's
  // PostgreSQL (autovacuum off) from slowing later scenarios with the dead rows of earlier ones.
  // On redis: none of the bench prefix's keys, and fresh tables for the failed jobs.
  if (engine === 'redis') await clearRedisPrefix();
  await emptyDatabase(databaseQueue(app.queues, 'database').knex, engine === 'redis' ? 'sqlite' : engine);
  await runMigrations('database');
}

const rate = (count: number, ms: number) => round((count * 1000) / ms);

/** This script again, in a child process, with the same options but another scenario. */
function child(scenario: string): ChildProcessByStdio<null, Readable, null> {
  const options = Object.entries({ ...args, scenario }).flatMap(([key, value]) =>
    value === undefined ? [] : [`--${key}`, String(value)],
  );
  return spawn(process.execPath, [fileURLToPath(import.meta.url), ...options], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}
const rssMb = () => round(process.memoryUsage.rss() / 1024 / 1024);

async function fill(count: number, chunk = 5000): Promise<void> {
  for (let start = 0; start < count; start += chunk) {
    const size = Math.min(chunk, count - start);
    await Queue.bulk(Array.from({ length: size }, (_, i) => new BenchNoop(start + i)));
  }
}

// The dispatch figures time dispatching, not connecting: the queue's connection is opened first,
// as BullMQ's runner awaits waitUntilReady() before its clock starts.
if (args.scenario === 'enqueue-one' || args.scenario === 'enqueue-bulk') await queue.size(queue.defaultQueue);

switch (args.scenario) {
  case 'enqueue-one': {
    const started = clock();
    for (let i = 0; i < jobs; i++) await BenchNoop.dispatch(i);
    emit({ ...base, scenario: 'enqueue-one', value: rate(jobs, clock() - started), unit: 'jobs/s' });
    break;
  }
  case 'enqueue-bulk': {
    const started = clock();
    await Queue.bulk(Array.from({ length: jobs }, (_, i) => new BenchNoop(i)));
    emit({ ...base, scenario: 'enqueue-bulk', value: rate(jobs, clock() - started), unit: 'jobs/s' });
    break;
  }
  case 'drain': {
    // Dispatched inside a span when tracing is on, so every job carries a traceContext (as jobs
    // dispatched while a request is traced do); its rate is reported, not the figure.
    const filling = clock();
    await telemetry.inSpan('bench fill', () => fill(jobs));
    const fillMs = clock() - filling;
    const before = rssMb();
    const cpuBefore = process.cpuUsage();
    const started = clock();
    await profiled(args['profile-drain'], () =>
      createWorker({ concurrency, prefetch, stopWhenEmpty: true, sleep: 0, memory: 4096 }).run(),
    );
    const ms = clock() - started;
    // The worker process's own CPU per job (user + system), which a loaded machine's waiting does not inflate.
    const cpu = process.cpuUsage(cpuBefore);
    if (handled.count !== jobs) throw new Error(`drain: ${handled.count} of ${jobs} jobs ran.`);
    // Read back after the clock stopped: the checks that every job was counted and traced.
    const telemetryFigures = { mode: telemetryMode, ...(await telemetry.finish(jobs)) };
    emit({
      ...base,
      scenario: 'drain',
      concurrency,
      processes: 1,
      prefetch,
      value: rate(jobs, ms),
      unit: 'jobs/s',
      rssBeforeMb: before,
      rssAfterMb: rssMb(),
      cpuUsPerJob: round((cpu.user + cpu.system) / jobs, 1),
      fillJobsPerSecond: rate(jobs, fillMs),
      telemetry: telemetryFigures,
    });
    break;
  }
  case 'drain-processes': {
    // Several worker processes on one table: the figure is the jobs over the window from the
    // first handler start to the last handler end across them (process start-up excluded).
    await fill(jobs);
    const processes = Number(args.processes);
    const started = clock();
    const outputs = await Promise.all(
      Array.from({ length: processes }, async () => {
        const worker = child('drain-worker');
        let output = '';
        worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        const [code] = (await once(worker, 'exit')) as [number];
        if (code !== 0) throw new Error(`drain-processes: a worker exited with ${code}.`);
        return JSON.parse(output) as { count: number; first: number; last: number };
      }),
    );
    const wallMs = clock() - started;
    const ran = outputs.filter((o) => o.count > 0);
    const count = outputs.reduce((sum, o) => sum + o.count, 0);
    if (count !== jobs) throw new Error(`drain-processes: ${count} of ${jobs} jobs ran.`);
    const windowMs = Math.max(...ran.map((o) => o.last)) - Math.min(...ran.map((o) => o.first));
    emit({
      ...base,
      scenario: 'drain',
      concurrency,
      processes,
      prefetch,
      value: rate(jobs, windowMs),
      unit: 'jobs/s',
      wallJobsPerSecond: rate(jobs, wallMs),
      perProcess: outputs.map((o) => o.count),
    });
    break;
  }
  case 'drain-worker': {
    await createWorker({ concurrency, prefetch, stopWhenEmpty: true, sleep: 0, memory: 4096 }).run();
    process.stdout.write(JSON.stringify({ count: handled.count, first: handled.first, last: handled.last }));
    break;
  }
  case 'memory': {
    // Jobs are fed in rounds while the worker drains, so the table stays small and what grows,
    // if anything, is the worker. RSS is sampled after the first 10,000 jobs and at the end.
    const round10k = 10_000;
    await fill(round10k * 2);
    const worker = createWorker({ concurrency, prefetch, sleep: 0.05, memory: 4096 });
    const running = worker.run();
    let inserted = round10k * 2;
    let at10k: number | undefined;
    while (handled.count < jobs) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (at10k === undefined && handled.count >= round10k) {
        global.gc?.();
        at10k = rssMb();
      }
      if (inserted < jobs && inserted - handled.count < round10k) {
        const next = Math.min(round10k, jobs - inserted);
        await fill(next);
        inserted += next;
      }
    }
    worker.stop();
    await running;
    global.gc?.();
    const end = rssMb();
    emit({
      ...base,
      scenario: 'memory',
      concurrency,
      value: round(((end - at10k!) / at10k!) * 100),
      unit: '% RSS growth',
      rssAt10kMb: at10k,
      rssAtEndMb: end,
    });
    break;
  }
  case 'bytes-per-job': {
    // Redis memory per waiting job: INFO used_memory before and after storing the jobs, and the
    // MEMORY USAGE of the bench prefix's keys (which other clients of the server cannot disturb).
    if (engine !== 'redis') throw new Error('bytes-per-job: only on the redis engine.');
    const before = await usedMemory();
    await fill(jobs);
    const after = await usedMemory();
    emit({
      ...base,
      scenario: 'bytes-per-job',
      value: round((after - before) / jobs),
      unit: 'bytes/job',
      keyBytesPerJob: round((await keyMemory()) / jobs),
    });
    break;
  }
  case 'latency': {
    // The worker is its own process, idle, as in production; this process dispatches.
    const worker = child('latency-worker');
    let output = '';
    let exited = false;
    worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.once('exit', () => (exited = true));
    while (!output.includes('ready')) {
      if (exited) throw new Error('latency: the worker process exited before it was ready.');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Idle: the worker's CPU over 5 s with nothing to do, measured by the worker itself.
    await new Promise((resolve) => setTimeout(resolve, 5500));
    for (let i = 0; i < 200; i++) {
      await BenchPing.dispatch(clock());
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    while ((await queue.size(queue.defaultQueue)) > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 200));
    worker.kill('SIGTERM');
    if (!exited) await once(worker, 'exit');
    const result = JSON.parse(output.slice(output.indexOf('{'))) as { latencies: number[]; idleCpuPercent: number };
    const l = result.latencies;
    if (l.length !== 200) throw new Error(`latency: the worker saw ${l.length} of 200 jobs.`);
    emit({
      ...base,
      jobs: 200,
      scenario: 'latency',
      value: round(quantile(l, 0.5), 2),
      unit: 'ms p50',
      p95: round(quantile(l, 0.95), 2),
      p99: round(quantile(l, 0.99), 2),
      sleep: Number(args.sleep),
    });
    emit({ ...base, jobs: 0, scenario: 'idle-cpu', value: round(result.idleCpuPercent, 2), unit: '% of one core' });
    break;
  }
  case 'latency-in-process': {
    // The dispatcher and an idle worker in one process: the push wakes the worker directly.
    const worker = createWorker({ concurrency: 10, sleep: Number(args.sleep), memory: 4096 });
    const running = worker.run();
    await new Promise((resolve) => setTimeout(resolve, 5500));
    for (let i = 0; i < 200; i++) {
      await BenchPing.dispatch(clock());
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    while (handled.latencies.length < 200) await new Promise((resolve) => setTimeout(resolve, 20));
    worker.stop();
    await running;
    const l = handled.latencies;
    emit({
      ...base,
      jobs: 200,
      scenario: 'latency-in-process',
      value: round(quantile(l, 0.5), 2),
      unit: 'ms p50',
      p95: round(quantile(l, 0.95), 2),
      p99: round(quantile(l, 0.99), 2),
      sleep: Number(args.sleep),
    });
    break;
  }
  case 'latency-worker': {
    const worker = createWorker({ concurrency: 10, sleep: Number(args.sleep), memory: 4096 });
    process.once('SIGTERM', () => worker.stop());
    const running = worker.run();
    // Idle means after start-up: the monitor thread loads errand and the store's client in this
    // process (the redis client alone took ~250 ms of CPU) and must not be counted as idling.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    process.stdout.write('ready\n');
    const cpu = process.cpuUsage();
    const wall = clock();
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const used = process.cpuUsage(cpu);
    const idleCpuPercent = ((used.user + used.system) / 1000 / (clock() - wall)) * 100;
    await running;
    process.stdout.write(`${JSON.stringify({ latencies: handled.latencies, idleCpuPercent })}\n`);
    break;
  }
  default:
    throw new Error(`Unknown scenario [${args.scenario}].`);
}
await shutdown();
