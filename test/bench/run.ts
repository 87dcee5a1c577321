import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import {
  type BenchEngine,
  type DatabaseEngine,
  ENGINES,
  prepareDatabase,
  serverVersion,
  sqliteFile,
} from './engines.js';
import type { Measurement } from './measurement.js';
import { redisUnreachable } from './redis-server.js';
import { summarize, telemetryCosts, telemetryTable, writeReport } from './report.js';
import type { TelemetryMode } from './telemetry.js';

/*
 * `npm run bench`: every figure of docs/performance.md, measured side by side in one run on this
 * machine. Each measurement is its own process printing one JSON line; those lines are echoed as
 * they come, then the medians are printed as a table and written to docs/performance.md.
 *
 *   npm run bench -- [--engines sqlite,mysql,postgres,redis] [--phases queue,dashboard] [--repeat 3] [--quick] [--skip-peers] [--no-write] [--long]
 *
 * Phases: `queue` (dispatch, drain, latency, growth, memory, the peers), `rollup` (the drain with
 * the metrics rollup on and off), `telemetry` (the drain with Prometheus metrics and OpenTelemetry
 * tracing on and off) and `dashboard` (the API's p95 per endpoint on tables at the issue's scale,
 * once per engine; see scenarios/dashboard.ts).
 */

/** The parts of the bench `--phases` picks. */
const PHASES = ['queue', 'rollup', 'telemetry', 'dashboard'] as const;

const { values: args } = parseArgs({
  options: {
    engines: { type: 'string', default: ENGINES.join(',') },
    phases: { type: 'string', default: PHASES.join(',') },
    repeat: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    'skip-peers': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    /** Also the long runs left out by default: the redis worker's RSS over 1,000,000 jobs. */
    long: { type: 'boolean', default: false },
    /** Re-renders docs/performance.md from the JSON lines runs printed (files, comma-separated), measuring nothing. */
    from: { type: 'string' },
  },
});

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root: run.js is compiled to test/bench/.build/test/bench/. */
const ROOT = path.resolve(here, '../../../../..');
const SCENARIOS = path.join(here, 'scenarios');
const PEERS = path.join(ROOT, 'test/bench/peers');
const repeat = Math.max(1, Number(args.repeat));
const quick = args.quick;
/** Jobs per drain: 20,000 as the goals state them; --quick for a smoke run. */
const DRAIN_JOBS = quick ? 2000 : 20_000;
const ENQUEUE_JOBS = quick ? 500 : 2000;
/** Waiting jobs stored to measure Redis memory per job. */
const BYTES_JOBS = quick ? 10_000 : 50_000;
const engines = args.engines.split(',').map((e) => e.trim()) as BenchEngine[];
const phases = new Set(args.phases.split(',').map((p) => p.trim()));
for (const phase of phases)
  if (!(PHASES as readonly string[]).includes(phase))
    throw new Error(`--phases: [${phase}] is not one of ${PHASES.join(', ')}.`);
const results: Measurement[] = [];
const skipped: string[] = [];

/** Runs one measurement process; its JSON lines are echoed and kept. A failure is reported, not fatal. */
function measure(label: string, command: string[], extra: Partial<Measurement> = {}): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', ...command], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('close', (code) => {
      const jsonLines = out.split('\n').filter((line) => line.startsWith('{'));
      for (const line of jsonLines) {
        const measurement = { ...(JSON.parse(line) as Measurement), ...extra };
        results.push(measurement);
        process.stdout.write(`${JSON.stringify(measurement)}\n`);
      }
      if (code !== 0 || jsonLines.length === 0) {
        // The thrown error's own line says why; a stack's last lines rarely do.
        const lines = err.trim().split('\n');
        const why = lines.find((line) => /^\w*Error\b/.test(line)) ?? lines.slice(-3).join(' | ');
        skipped.push(`${label}: exit ${code}: ${why}`);
        process.stderr.write(`bench: ${label} failed (exit ${code}): ${why}\n`);
      }
      resolve();
    });
  });
}

const errand = (engine: BenchEngine, file: string | undefined, ...rest: string[]) => [
  path.join(SCENARIOS, 'errand.js'),
  '--engine',
  engine,
  ...(file ? ['--sqlite', file] : []),
  ...rest,
];
const raw = (engine: BenchEngine, file: string | undefined, ...rest: string[]) => [
  path.join(SCENARIOS, 'raw-sql.js'),
  '--engine',
  engine,
  ...(file ? ['--sqlite', file] : []),
  ...rest,
];
const peer = (runner: string, ...rest: string[]) => [path.join(PEERS, runner), ...rest];

/** The phases `--phases` picks, on one engine. */
async function benchEngine(engine: BenchEngine): Promise<void> {
  const why =
    engine === 'redis' ? await redisUnreachable() : engine === 'sqlite' ? undefined : await prepareDatabase(engine);
  if (why) {
    skipped.push(`${engine}: not reachable (${why})`);
    process.stderr.write(`bench: ${engine} is not reachable, its figures are skipped: ${why}\n`);
    return;
  }
  if (phases.has('queue')) await (engine === 'redis' ? benchRedis() : benchQueue(engine));
  if (phases.has('rollup')) await benchRollup(engine);
  if (phases.has('telemetry')) await benchTelemetry(engine);
  if (phases.has('dashboard')) await benchDashboard(engine);
}

/**
 * The metrics rollup's cost to the worker (issue 23: within 5%): drain c=10 with the rollup off
 * (system `errand (rollup off)`) and on, one after the other in each repeat so drift on a shared
 * machine hits both; each drain also reports its worker's CPU per job (cpuUsPerJob). The queue
 * phase's own drains run with the rollup on, the default.
 */
const PAIRED = { preset: 'rollup pair' };

async function benchRollup(engine: BenchEngine): Promise<void> {
  const file = engine === 'sqlite' || engine === 'redis' ? sqliteFile() : undefined;
  const drain = ['--scenario', 'drain', '--concurrency', '10', '--jobs', String(DRAIN_JOBS)];
  for (let r = 0; r < repeat; r++) {
    // A preset of their own: these pairs are compared with each other, not with the queue phase's
    // drains. The order alternates: a run can slow the next (PostgreSQL's dead rows, Redis's
    // memory), which must not count against one side.
    const off = () =>
      measure(`${engine} drain c=10 rollup off`, errand(engine, file, ...drain, '--metrics', 'off'), PAIRED);
    const on = () => measure(`${engine} drain c=10 rollup on`, errand(engine, file, ...drain), PAIRED);
    if (r % 2 === 0) {
      await off();
      await on();
    } else {
      await on();
      await off();
    }
  }
}

/**
 * The cost of issue 24's telemetry to the worker (on ≥ 95% of off): the drain with nothing
 * registered (`off`, what an application that uses neither gets), then with errand's Prometheus
 * metrics registered and an OpenTelemetry SDK sampling every trace (`on`; the jobs dispatched
 * inside a span so each carries a traceContext), side by side in each round, the order reversed
 * every other round. At c=10 also each feature alone, to say which one costs what, and both with a
 * 1% head sampler (`sampled`) instead of every trace, and the SDK registered with errand's tracing
 * off (`sdk`: the SDK's own share, its context manager). Every run keeps
 * the rollup on (the default); each reports its worker's CPU per job, which waiting on a loaded
 * machine does not inflate.
 */
async function benchTelemetry(engine: BenchEngine): Promise<void> {
  const file = engine === 'sqlite' || engine === 'redis' ? sqliteFile() : undefined;
  for (const concurrency of [10, 1]) {
    const modes: TelemetryMode[] =
      concurrency === 10 ? ['off', 'on', 'metrics', 'tracing', 'sampled', 'sdk'] : ['off', 'on'];
    for (let round = 0; round < repeat; round++) {
      for (const mode of round % 2 === 0 ? modes : [...modes].reverse())
        await measure(
          `${engine} drain c=${concurrency} telemetry ${mode}`,
          errand(
            engine,
            file,
            '--scenario',
            'drain',
            '--concurrency',
            String(concurrency),
            '--jobs',
            String(DRAIN_JOBS),
            '--telemetry',
            mode,
          ),
          { preset: `telemetry ${mode}`, round },
        );
    }
  }
}

/**
 * The dashboard's API on tables at the issue's scale (--quick: a tenth), once per engine: seeding
 * takes a while and the figure is a p95 of many requests already.
 */
async function benchDashboard(engine: BenchEngine): Promise<void> {
  const file = engine === 'sqlite' || engine === 'redis' ? sqliteFile() : undefined;
  const sizes = quick ? ['--pending', '10000', '--failed', '10000', '--finished', '100000', '--samples', '10'] : [];
  await measure(`${engine} dashboard`, [
    path.join(SCENARIOS, 'dashboard.js'),
    '--engine',
    engine,
    ...(file ? ['--sqlite', file] : []),
    ...sizes,
  ]);
}

/** The queue's own figures on a SQL engine: dispatch, drain, latency, growth, memory, the peers. */
async function benchQueue(engine: DatabaseEngine): Promise<void> {
  const file = engine === 'sqlite' ? sqliteFile() : undefined;
  const jobs = (n: number) => ['--jobs', String(n)];
  for (let r = 0; r < repeat; r++) {
    // Paired: errand and the floor one after the other, so drift on a shared machine hits both.
    await measure(`${engine} enqueue-one`, errand(engine, file, '--scenario', 'enqueue-one', ...jobs(ENQUEUE_JOBS)));
    await measure(`${engine} raw enqueue-one`, raw(engine, file, '--scenario', 'enqueue-one', ...jobs(ENQUEUE_JOBS)));
    await measure(`${engine} enqueue-bulk`, errand(engine, file, '--scenario', 'enqueue-bulk', ...jobs(DRAIN_JOBS)));
    await measure(`${engine} raw enqueue-bulk`, raw(engine, file, '--scenario', 'enqueue-bulk', ...jobs(DRAIN_JOBS)));
    for (const c of [1, 10, 50]) {
      await measure(
        `${engine} drain c=${c}`,
        errand(engine, file, '--scenario', 'drain', '--concurrency', String(c), ...jobs(DRAIN_JOBS)),
      );
      await measure(
        `${engine} raw drain c=${c}`,
        raw(engine, file, '--scenario', 'drain', '--concurrency', String(c), ...jobs(DRAIN_JOBS)),
      );
    }
    await measure(
      `${engine} drain 4 processes`,
      errand(
        engine,
        file,
        '--scenario',
        'drain-processes',
        '--processes',
        '4',
        '--concurrency',
        '10',
        ...jobs(DRAIN_JOBS),
      ),
    );
    if (engine === 'postgres' && !args['skip-peers']) await postgresPeers(r);
    if (engine === 'mysql' && !args['skip-peers']) {
      await measure(
        'boringnode mysql drain',
        peer(
          'boringnode.mjs',
          '--engine',
          'mysql',
          '--scenario',
          'drain',
          '--concurrency',
          '10',
          '--preset',
          'fast',
          ...jobs(Math.min(DRAIN_JOBS, 5000)),
        ),
      );
      if (r === 0)
        await measure(
          'boringnode mysql enqueue',
          peer('boringnode.mjs', '--engine', 'mysql', '--scenario', 'enqueue', ...jobs(ENQUEUE_JOBS)),
        );
    }
  }
  await measure(`${engine} latency`, errand(engine, file, '--scenario', 'latency'));
  await measure(`${engine} latency in-process`, errand(engine, file, '--scenario', 'latency-in-process'));
  await measure(`${engine} growth`, [
    path.join(SCENARIOS, 'growth.js'),
    '--engine',
    engine,
    ...(file ? ['--sqlite', file] : []),
    ...(quick ? ['--delayed', '50000', '--failed', '5000'] : []),
  ]);
  if (engine === 'sqlite' || process.env.BENCH_MEMORY_ALL) {
    await measure(
      `${engine} memory`,
      errand(engine, file, '--scenario', 'memory', '--concurrency', '10', ...jobs(quick ? 100_000 : 1_000_000)),
    );
  }
}

/**
 * errand's redis driver and BullMQ on the same server, each errand figure followed at once by
 * BullMQ's, so drift on a shared machine hits both. Failed jobs go to a SQLite file.
 */
async function benchRedis(): Promise<void> {
  const file = sqliteFile();
  const jobs = (n: number) => ['--jobs', String(n)];
  const bullmq = args['skip-peers']
    ? async () => {}
    : (label: string, ...rest: string[]) => measure(label, peer('bullmq.mjs', ...rest));
  for (let r = 0; r < repeat; r++) {
    await measure('redis enqueue-one', errand('redis', file, '--scenario', 'enqueue-one', ...jobs(ENQUEUE_JOBS)));
    await bullmq('bullmq enqueue', '--scenario', 'enqueue', ...jobs(ENQUEUE_JOBS));
    await measure('redis enqueue-bulk', errand('redis', file, '--scenario', 'enqueue-bulk', ...jobs(DRAIN_JOBS)));
    await bullmq('bullmq enqueue-bulk', '--scenario', 'enqueue-bulk', ...jobs(DRAIN_JOBS));
    for (const c of [1, 10, 50]) {
      await measure(
        `redis drain c=${c}`,
        errand('redis', file, '--scenario', 'drain', '--concurrency', String(c), ...jobs(DRAIN_JOBS)),
      );
      if (c <= 10)
        await bullmq(`bullmq drain c=${c}`, '--scenario', 'drain', '--concurrency', String(c), ...jobs(DRAIN_JOBS));
    }
    await measure(
      'redis drain 4 processes',
      errand(
        'redis',
        file,
        '--scenario',
        'drain-processes',
        '--processes',
        '4',
        '--concurrency',
        '10',
        ...jobs(DRAIN_JOBS),
      ),
    );
    await measure('redis latency', errand('redis', file, '--scenario', 'latency'));
    await bullmq('bullmq latency', '--scenario', 'latency-process');
    await measure('redis bytes-per-job', errand('redis', file, '--scenario', 'bytes-per-job', ...jobs(BYTES_JOBS)));
    await bullmq('bullmq bytes-per-job', '--scenario', 'memory-per-job', ...jobs(BYTES_JOBS));
  }
  await measure('redis latency in-process', errand('redis', file, '--scenario', 'latency-in-process'));
  if (!args['skip-peers'])
    await measure('bullmq latency in-process', peer('bullmq.mjs', '--scenario', 'latency'), {
      scenario: 'latency-in-process',
      unit: 'ms p50',
    });
  // A few minutes on its own: run with --long (or BENCH_MEMORY_ALL) to include it.
  if (args.long || process.env.BENCH_MEMORY_ALL)
    await measure(
      'redis memory',
      errand('redis', file, '--scenario', 'memory', '--concurrency', '10', ...jobs(quick ? 100_000 : 1_000_000)),
    );
}

/** The PostgreSQL peers, interleaved with errand's own runs (round `r` of the repeats). */
async function postgresPeers(r: number): Promise<void> {
  const drain = ['--scenario', 'drain', '--concurrency', '10', '--jobs', String(DRAIN_JOBS)];
  await measure('graphile-worker fast drain', peer('graphile-worker.mjs', ...drain, '--preset', 'fast'));
  await measure('graphile-worker default drain', peer('graphile-worker.mjs', ...drain, '--preset', 'default'));
  await measure('pg-boss fast drain', peer('pg-boss.mjs', ...drain, '--preset', 'fast'));
  await measure(
    'boringnode postgres drain',
    peer(
      'boringnode.mjs',
      '--engine',
      'postgres',
      '--scenario',
      'drain',
      '--concurrency',
      '10',
      '--preset',
      'fast',
      '--jobs',
      String(Math.min(DRAIN_JOBS, 5000)),
    ),
  );
  // BullMQ runs beside errand's redis driver when redis is measured; here only when it is not.
  const bullmq = !engines.includes('redis');
  if (bullmq) await measure('bullmq drain', peer('bullmq.mjs', ...drain));
  if (r > 0) return;
  for (const runner of ['graphile-worker.mjs', 'pg-boss.mjs', ...(bullmq ? ['bullmq.mjs'] : [])]) {
    await measure(`${runner} enqueue`, peer(runner, '--scenario', 'enqueue', '--jobs', String(ENQUEUE_JOBS)));
  }
  await measure('graphile-worker latency', peer('graphile-worker.mjs', '--scenario', 'latency', '--preset', 'fast'));
  await measure('pg-boss latency', peer('pg-boss.mjs', '--scenario', 'latency', '--preset', 'fast'));
  if (bullmq)
    await measure('bullmq latency', peer('bullmq.mjs', '--scenario', 'latency'), { scenario: 'latency-in-process' });
}

if (args.from !== undefined) {
  // Several runs (comma-separated files) make one report when each measured other engines, e.g.
  // the SQL engines in one run and redis beside BullMQ in another; the report says how many.
  const files = args.from.split(',');
  // Each measurement keeps the index of its run, so a goal comparing figures of two runs says so.
  const measured = files.flatMap((name, run) =>
    readFileSync(name, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => ({ ...(JSON.parse(line) as Measurement), ...(files.length > 1 ? { run } : {}) })),
  );
  const metas = measured.filter((m) => m.scenario === 'run-info') as Array<
    Measurement & {
      seconds: number;
      versions: Record<string, string>;
      date?: string;
      engines?: string[];
      loadAverage?: number;
    }
  >;
  const rows = measured.filter((m) => m.scenario !== 'run-info' && m.scenario !== 'telemetry-cost');
  const file = await writeReport(ROOT, summarize(rows), rows, {
    quick,
    repeat,
    seconds: metas.reduce((sum, m) => sum + m.seconds, 0),
    skipped: [],
    versions: Object.assign({}, ...metas.map((m) => m.versions)) as Record<string, string>,
    runs: files.length,
    sources: metas.map(
      (m) =>
        `${m.date ?? 'an unrecorded day'} (${(m.engines ?? ['unrecorded engines']).join(', ')}` +
        `${m.loadAverage === undefined ? '' : `; 1-minute load average ${m.loadAverage} during it`})`,
    ),
  });
  process.stdout.write(`wrote ${path.relative(ROOT, file)} from ${rows.length} measurements\n`);
  process.exit(0);
}

if (phases.has('queue') && !args['skip-peers'] && !existsSync(path.join(PEERS, 'node_modules'))) {
  process.stderr.write('bench: installing the peers (npm --prefix test/bench/peers ci) …\n');
  const installed = spawnSync('npm', ['--prefix', PEERS, 'ci', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (installed.status !== 0)
    throw new Error(
      'bench: the peers could not be installed; run `npm --prefix test/bench/peers ci` to see why, or pass --skip-peers.',
    );
}

const started = Date.now();
const versions: Record<string, string> = {};
const serverNames: Record<BenchEngine, string> = {
  sqlite: 'SQLite',
  mysql: 'MariaDB/MySQL',
  postgres: 'PostgreSQL',
  redis: 'Redis',
};
for (const engine of engines) {
  if (!ENGINES.includes(engine)) throw new Error(`--engines: [${engine}] is not one of ${ENGINES.join(', ')}.`);
  await benchEngine(engine);
  versions[serverNames[engine]] = await serverVersion(engine);
}
for (const m of results) if (typeof m.version === 'string') versions[m.system] = m.version;
// The run's own facts as one more JSON line, so `--from` can re-render the report later.
process.stdout.write(
  `${JSON.stringify({ system: 'bench', engine: '-', scenario: 'run-info', value: 0, unit: '', seconds: Math.round((Date.now() - started) / 1000), versions, date: new Date().toISOString().slice(0, 10), engines, loadAverage: Number(os.loadavg()[0]!.toFixed(1)) })}\n`,
);
const summary = summarize(results);
process.stdout.write(`\n${summary.table}\n`);
const costs = telemetryCosts(results);
if (costs.length > 0) {
  // The derived figures as JSON lines too (`--from` skips them: it derives them again).
  for (const cost of costs) process.stdout.write(`${JSON.stringify({ scenario: 'telemetry-cost', ...cost })}\n`);
  process.stdout.write(`\n${telemetryTable(costs)}\n`);
}
for (const line of skipped) process.stdout.write(`skipped or failed: ${line}\n`);
if (!args['no-write']) {
  const file = await writeReport(ROOT, summary, results, {
    quick,
    repeat,
    seconds: Math.round((Date.now() - started) / 1000),
    skipped,
    versions,
  });
  process.stdout.write(`wrote ${path.relative(ROOT, file)}\n`);
}
