import 'reflect-metadata';

import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

import { Queue } from '../../../src/bus/queue.js';
import { boot, shutdown } from '../../../src/runtime/boot.js';
import { runtime } from '../../../src/runtime/current.js';
import { runMigrations } from '../../../src/runtime/run-migrations.js';
import { databaseQueue } from '../../helpers/database-queue.js';
import { BenchNoop, clock } from '../bench-jobs.js';
import { connectionConfig, type DatabaseEngine, emptyDatabase } from '../engines.js';
import { emit, quantile, round } from '../measurement.js';

/*
 * Claim cost as the tables grow: the median time of one claim with an empty table, then with
 * 1,000,000 delayed jobs and 100,000 failed jobs stored. Flat means the index does its job; the
 * engine's plan for the claim is printed for both states.
 */

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', default: 'sqlite' },
    sqlite: { type: 'string' },
    delayed: { type: 'string', default: '1000000' },
    failed: { type: 'string', default: '100000' },
    claims: { type: 'string', default: '500' },
  },
});
const engine = args.engine as DatabaseEngine;
await boot({ default: 'database', connections: { database: connectionConfig(engine, args.sqlite) } });
const driver = databaseQueue((await runtime()).queues);
const knex = driver.knex;
await emptyDatabase(knex, engine);
await runMigrations();

/** Median milliseconds of `claims` single-job claims, each job deleted after (untimed). */
async function claimMs(): Promise<number> {
  const count = Number(args.claims);
  await Queue.bulk(Array.from({ length: count }, (_, i) => new BenchNoop(i)));
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = clock();
    const [job] = await driver.claim('default', 1, 'growth-bench');
    times.push(clock() - started);
    if (!job) throw new Error('growth: a ready job was not claimed.');
    await driver.delete(job);
  }
  return quantile(times, 0.5);
}

const emptyMs = await claimMs();
const planEmpty = await driver.explainClaim('default');

const delayed = Number(args.delayed);
const started = clock();
for (let done = 0; done < delayed; done += 10_000) {
  await Queue.bulk(
    Array.from({ length: Math.min(10_000, delayed - done) }, (_, i) => new BenchNoop(done + i)),
    { delay: 86_400 },
  );
}
const failed = Number(args.failed);
for (let done = 0; done < failed; done += 1000) {
  const rows = Array.from({ length: Math.min(1000, failed - done) }, () => ({
    uuid: randomUUID(),
    connection: 'database',
    queue: 'default',
    payload: '{}',
    exception: 'Error: bench',
  }));
  await knex.batchInsert('failed_jobs', rows, engine === 'sqlite' ? 100 : 1000);
}
const fillSeconds = round((clock() - started) / 1000);
if (engine !== 'sqlite') await knex.raw(engine === 'postgres' ? 'analyze jobs' : 'analyze table jobs');

const grownMs = await claimMs();
const planGrown = await driver.explainClaim('default');
emit({
  system: 'errand',
  engine,
  scenario: 'claim-growth',
  value: round(grownMs / emptyMs, 2),
  unit: '× empty',
  emptyMs: round(emptyMs, 3),
  grownMs: round(grownMs, 3),
  delayedRows: delayed,
  failedRows: failed,
  fillSeconds,
  planEmpty,
  planGrown,
});
await knex('jobs').delete();
await knex('failed_jobs').delete();
await shutdown();
