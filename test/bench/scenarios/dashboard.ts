import 'reflect-metadata';

import { parseArgs } from 'node:util';

import { boot, shutdown } from '../../../src/runtime/boot.js';
import { runtime } from '../../../src/runtime/current.js';
import { runMigrations } from '../../../src/runtime/run-migrations.js';
import {
  type DashboardSeedSize,
  pushSeededJobs,
  seedBatches,
  seedDashboardTables,
  seedFailedJobs,
} from '../../helpers/dashboard-seed.js';
import { databaseQueue } from '../../helpers/database-queue.js';
import { clock } from '../bench-jobs.js';
import { type BenchEngine, bootConfig, emptyDatabase } from '../engines.js';
import { emit, round } from '../measurement.js';
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
const seedSeconds = round((clock() - seedStarted) / 1000);
emit({
  ...base,
  scenario: 'dashboard-seed',
  value: seedSeconds,
  unit: 's',
  ...size,
  finished: Number(args.finished),
});
if (!args['seed-only']) {
  // The API measurement lands with the dashboard (src/dashboard/).
}
await shutdown();
