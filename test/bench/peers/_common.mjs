// Shared helpers for the peer runners: CLI parsing, clean databases, timing,
// percentiles and the single JSON result line. Everything except the final
// result goes to stderr.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', password: '' };
export const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };
export const REDIS = { host: '127.0.0.1', port: 6379 };
export const BENCH_DB = 'bench_peers';

export function parseCli({
  presets = ['default'],
  engines = ['postgres'],
  scenarios = ['drain', 'enqueue', 'latency'],
} = {}) {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'drain' },
      jobs: { type: 'string' },
      concurrency: { type: 'string', default: '10' },
      engine: { type: 'string', default: engines[0] },
      preset: { type: 'string', default: presets[0] },
    },
    strict: true,
  });
  const scenario = values.scenario;
  if (!scenarios.includes(scenario)) {
    throw new Error(`--scenario must be one of ${scenarios.join(', ')} (got ${scenario})`);
  }
  if (!engines.includes(values.engine)) {
    throw new Error(`--engine must be one of ${engines.join(', ')} (got ${values.engine})`);
  }
  if (!presets.includes(values.preset)) {
    throw new Error(`--preset must be one of ${presets.join(', ')} (got ${values.preset})`);
  }
  const defaultJobs =
    { drain: 20000, enqueue: 2000, latency: 200, 'enqueue-bulk': 20000, 'memory-per-job': 100000 }[scenario] ?? 200;
  const jobs = values.jobs === undefined ? defaultJobs : Number(values.jobs);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error('--jobs must be a positive integer');
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('--concurrency must be a positive integer');
  return { scenario, jobs, concurrency, engine: values.engine, preset: values.preset };
}

/** Installed version of a dependency of this package (reads its package.json). */
export function versionOf(pkg) {
  const file = new URL(`./node_modules/${pkg}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(file, 'utf8')).version;
}

export const log = (...args) => console.error(...args);

/** Wall clock in ms with sub-ms resolution, comparable across processes on this host. */
export const nowMs = () => performance.timeOrigin + performance.now();

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export const round = (x, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Deferred that resolves once `count` reaches `target`. */
export function counter(target) {
  let count = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  return {
    done,
    get count() {
      return count;
    },
    hit() {
      count += 1;
      if (count === target) resolve();
    },
  };
}

/** Poll `check` (async, returns boolean) until it is true; throws after timeoutMs. */
export async function waitUntil(check, { intervalMs = 5, timeoutMs = 120000, what = 'condition' } = {}) {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Create database bench_peers on PostgreSQL if it does not exist (connects to `postgres`). */
export async function ensurePgDatabase() {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ ...PG, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [BENCH_DB]);
    if (rowCount === 0) {
      try {
        await client.query(`create database ${BENCH_DB}`);
      } catch (e) {
        if (e.code !== '42P04') throw e; // raced with another runner: already exists
      }
    }
  } finally {
    await client.end();
  }
}

export const pgConnectionString = () => `postgres://${PG.user}@${PG.host}:${PG.port}/${BENCH_DB}`;

/** Run one SQL statement against bench_peers on PostgreSQL with a short-lived client. */
export async function pgQuery(sql, params = []) {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ ...PG, database: BENCH_DB });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

/** Create database bench_peers on MariaDB/MySQL if it does not exist. */
export async function ensureMysqlDatabase() {
  const mysql = (await import('mysql2/promise')).default;
  const conn = await mysql.createConnection({ ...MYSQL });
  try {
    await conn.query(`create database if not exists \`${BENCH_DB}\``);
  } finally {
    await conn.end();
  }
}

/** Print the single result line on stdout. */
export function emit(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
}

/**
 * Latency scenario driver: waits 1 s with the worker idle, then calls
 * `add(enqueuedAt)` `n` times, 10 ms apart (each add awaited), and waits for
 * the handler to have recorded `n` samples (via the returned `record`).
 */
export function latencyRecorder(n) {
  const samples = [];
  const c = counter(n);
  return {
    record(enqueuedAt) {
      samples.push(nowMs() - enqueuedAt);
      c.hit();
    },
    async run(add, { timeoutMs = 60000 } = {}) {
      await sleep(1000);
      const start = nowMs();
      for (let i = 0; i < n; i++) {
        const target = start + i * 10;
        const wait = target - nowMs();
        if (wait > 0) await sleep(wait);
        await add(nowMs());
      }
      await Promise.race([
        c.done,
        sleep(timeoutMs).then(() => {
          throw new Error(`latency: only ${c.count}/${n} jobs ran within ${timeoutMs} ms`);
        }),
      ]);
      const sorted = [...samples].sort((a, b) => a - b);
      return {
        p50: round(percentile(sorted, 50)),
        p95: round(percentile(sorted, 95)),
        p99: round(percentile(sorted, 99)),
        max: round(sorted[sorted.length - 1]),
      };
    },
  };
}

/** Wrap main(): print errors to stderr and exit non-zero; exit 0 on success. */
export function runMain(main) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err?.stack ?? err);
      process.exit(1);
    },
  );
}
