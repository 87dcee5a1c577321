import 'reflect-metadata';

import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

import { createDashboard, type DashboardOptions, toNodeHandler } from '../../../src/dashboard/index.js';
import { openMetricsRepository } from '../../../src/drivers/connect.js';
import { boot, shutdown } from '../../../src/runtime/boot.js';
import { runtime } from '../../../src/runtime/current.js';
import { runMigrations } from '../../../src/runtime/run-migrations.js';
import { dashboardEndpoints } from '../../helpers/dashboard-endpoints.js';
import {
  analyze,
  type DashboardSeedSize,
  pushSeededJobs,
  seedBatches,
  seedDashboardTables,
  seedFailedJobs,
  seedMetrics,
} from '../../helpers/dashboard-seed.js';
import { databaseQueue } from '../../helpers/database-queue.js';
import { clock } from '../bench-jobs.js';
import { type BenchEngine, bootConfig, emptyDatabase } from '../engines.js';
import { emit, quantile, round } from '../measurement.js';
import { clearRedisPrefix } from '../redis-server.js';

/*
 * The dashboard at scale: tables seeded with 100,000 failed records, 100,000+ pending jobs and
 * the rollup of 1,000,000 finished jobs over 7 days, then every API endpoint requested over HTTP
 * (the dashboard mounted under /admin/jobs in node:http) again and again; one JSON line per
 * endpoint with its p95. Run by test/bench/run.ts; by hand:
 *   node test/bench/.build/test/bench/scenarios/dashboard.js --engine postgres
 */

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', default: 'sqlite' },
    sqlite: { type: 'string' },
    pending: { type: 'string', default: '100000' },
    failed: { type: 'string', default: '100000' },
    /** Finished jobs the seeded rollup counts, over 7 days. */
    finished: { type: 'string', default: '1000000' },
    /** Timed requests per endpoint (after one untimed warm-up). */
    samples: { type: 'string', default: '40' },
    /** Seed and report the seeding time only. */
    'seed-only': { type: 'boolean', default: false },
  },
});
const engine = args.engine as BenchEngine;
const size: DashboardSeedSize = {
  pending: Number(args.pending),
  delayed: Math.round(Number(args.pending) / 10),
  reserved: 100,
  failed: Number(args.failed),
  batches: 1000,
  liveWorkers: 8,
  lostWorkers: 2,
};
const base = { system: 'errand', engine };

await boot(bootConfig(engine, args.sqlite));
const app = await runtime();
const connection = app.queues.worker().connectionName;
const database = databaseQueue(app.queues, 'database').knex;
if (engine === 'redis') await clearRedisPrefix();
await emptyDatabase(database, engine === 'redis' ? 'sqlite' : engine);
await runMigrations('database');

const seedStarted = clock();
if (engine === 'redis') {
  await pushSeededJobs(app.queues.worker(), size);
  await seedFailedJobs(database, 'sqlite', size, connection);
  await seedBatches(database, 'sqlite', size);
} else {
  await seedDashboardTables(database, engine, size, connection);
}
const rollupStarted = clock();
const rollup = openMetricsRepository(app.queues.worker(), app.config.metrics);
const samples = await seedMetrics(rollup, Number(args.finished));
await rollup.close();
if (engine !== 'redis') await analyze(database, engine, [app.config.metrics.table]);
const rollupSeconds = round((clock() - rollupStarted) / 1000);
const seedSeconds = round((clock() - seedStarted) / 1000);
emit({
  ...base,
  scenario: 'dashboard-seed',
  value: seedSeconds,
  unit: 's',
  ...size,
  finished: Number(args.finished),
  rollupSamples: samples,
  rollupSeconds,
});
if (!args['seed-only']) await measureApi();
await shutdown();

/** Serves a dashboard over node:http under /admin/jobs; resolves to its base URL and a closer. */
async function serve(options: Partial<DashboardOptions>): Promise<{ base: string; close(): void }> {
  const handler = toNodeHandler(createDashboard({ basePath: '/admin/jobs', authorize: () => true, ...options }));
  const server = http.createServer((request, response) => void handler(request, response));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/admin/jobs/`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** Milliseconds of one GET, body read; a status other than 200 fails the measurement. */
async function timedGet(base: string, path: string): Promise<number> {
  const started = clock();
  const response = await fetch(new URL(path, base));
  const body = await response.text();
  const ms = clock() - started;
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${body.slice(0, 300)}`);
  return ms;
}

/**
 * Every endpoint, `samples` times after one untimed request, on two dashboards side by side: one
 * that counts on every request (countCacheSeconds 0: the worst case) and one with the default
 * count cache (served stale-while-revalidate, refreshed every 5 s in the background: what the
 * goals are checked against). Each reports its first, cold request as firstMs. The
 * requests of the two alternate, so drift on a shared machine hits both.
 */
async function measureApi(): Promise<void> {
  const uncached = await serve({ countCacheSeconds: 0 });
  const cached = await serve({});
  try {
    // A listing that fails here fails again when measured, and says so there; its detail probe is left out.
    const probes = await dashboardEndpoints(async (path) => {
      const response = await fetch(new URL(path, uncached.base));
      return response.status === 200 ? response.json() : { items: [], next: null };
    });
    const samples = Number(args.samples);
    for (const probe of probes) {
      const times = { uncached: [] as number[], 'cached 5 s': [] as number[] };
      const first = { uncached: 0, 'cached 5 s': 0 };
      try {
        first.uncached = await timedGet(uncached.base, probe.path);
        // The cached dashboard's first request waits for its counts (a cold cache): reported as firstMs.
        first['cached 5 s'] = await timedGet(cached.base, probe.path);
        for (let i = 0; i < samples; i++) {
          times.uncached.push(await timedGet(uncached.base, probe.path));
          times['cached 5 s'].push(await timedGet(cached.base, probe.path));
        }
      } catch (error) {
        process.stderr.write(`dashboard: ${(error as Error).message}\n`);
        continue;
      }
      for (const [preset, list] of Object.entries(times) as [keyof typeof times, number[]][])
        emit({
          ...base,
          preset,
          scenario: `dashboard ${probe.label}`,
          value: round(quantile(list, 0.95)),
          unit: 'ms p95',
          p50: round(quantile(list, 0.5)),
          max: round(Math.max(...list)),
          firstMs: round(first[preset]),
          samples,
          path: probe.path,
        });
    }
  } finally {
    uncached.close();
    cached.close();
  }
}
