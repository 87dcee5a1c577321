import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

import knexFactory, { type Knex } from 'knex';

import { clock } from '../bench-jobs.js';
import { type DatabaseEngine, knexConfig } from '../engines.js';
import { emit, round } from '../measurement.js';

/*
 * The raw-SQL floor: the minimal statements a database queue needs (insert; claim n; delete n),
 * issued straight through the same driver (knex.raw, as errand does), with no framework around
 * them. errand's figure as a ratio of this one is what the framework costs. The SQL lives here on
 * purpose, outside src/drivers/database/: it is the yardstick, not part of errand.
 *
 * The table is a copy of errand's jobs table shape with the index each engine needs for the
 * claim (a partial index on PostgreSQL), made here so the floor depends on nothing of errand's.
 * The drain is the obvious loop: whenever slots are free, claim as many rows as there are free
 * slots; each job runs in its slot and deletes its own row when done.
 */

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', default: 'sqlite' },
    sqlite: { type: 'string' },
    scenario: { type: 'string', default: 'drain' },
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '10' },
  },
});
const engine = args.engine as DatabaseEngine;
const jobs = Number(args.jobs);
const concurrency = Number(args.concurrency);
const TABLE = 'floor_jobs';
const knex: Knex = knexFactory({
  ...knexConfig(engine, args.sqlite),
  pool: engine === 'sqlite' ? undefined : { min: 1, max: concurrency + 2 },
});
const base = { system: 'raw-sql', engine, jobs };
const nowSeconds = () => Math.floor(Date.now() / 1000);
const rate = (count: number, ms: number) => round((count * 1000) / ms);

async function createTable(): Promise<void> {
  await knex.schema.dropTableIfExists(TABLE);
  await knex.schema.createTable(TABLE, (t) => {
    t.bigIncrements('id');
    t.string('queue').notNullable();
    t.text('payload', 'longtext').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('reserved_at').nullable();
    t.string('reserved_by', 36).nullable();
    t.integer('available_at').notNullable();
    t.integer('created_at').notNullable();
    if (engine !== 'postgres') t.index(['queue', 'reserved_at', 'available_at', 'id']);
  });
  // PostgreSQL does not read `reserved_at is null` as fixing the order: a partial index does.
  if (engine === 'postgres')
    await knex.raw(`create index ${TABLE}_ready on ${TABLE} (queue, available_at, id) where reserved_at is null`);
  if (engine === 'sqlite') await knex.raw('pragma journal_mode = wal');
}

// The same size as errand's payload for the bench job (311 bytes): what the floor leaves out is
// the framework's work, not bytes on the wire.
const payload = (n: number) => {
  const text = JSON.stringify({ uuid: randomUUID(), job: 'noop', n, pad: '' });
  return text.replace('"pad":""', `"pad":"${'x'.repeat(Math.max(0, 311 - text.length))}"`);
};
const row = (n: number) => ({
  queue: 'default',
  payload: payload(n),
  attempts: 0,
  available_at: nowSeconds(),
  created_at: nowSeconds(),
});

async function insertBulk(count: number): Promise<void> {
  const chunk = engine === 'sqlite' ? 500 : 1000;
  for (let start = 0; start < count; start += chunk) {
    const rows = Array.from({ length: Math.min(chunk, count - start) }, (_, i) => row(start + i));
    // One multi-row INSERT per chunk. Bindings: 5 per row.
    await knex.raw(
      `insert into ${TABLE} (queue, payload, attempts, available_at, created_at) values ${rows.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
      rows.flatMap((r) => [r.queue, r.payload, r.attempts, r.available_at, r.created_at]),
    );
  }
}

/** Claims up to `n` due rows for `token`: one statement on PostgreSQL and SQLite, a locked read then an update on MariaDB. */
async function claim(n: number, token: string): Promise<Array<{ id: number | string; payload: string }>> {
  const now = nowSeconds();
  if (engine === 'postgres') {
    const result = await knex.raw(
      `with next as (select id from ${TABLE} where queue = ? and reserved_at is null and available_at <= ? order by available_at, id limit ? for update skip locked)
       update ${TABLE} j set reserved_at = ?, reserved_by = ?, attempts = j.attempts + 1 from next where j.id = next.id returning j.id, j.payload`,
      ['default', now, n, now, token],
    );
    return result.rows;
  }
  if (engine === 'sqlite') {
    return knex.raw(
      `update ${TABLE} set reserved_at = ?, reserved_by = ?, attempts = attempts + 1
       where id in (select id from ${TABLE} where queue = ? and reserved_at is null and available_at <= ? order by available_at, id limit ?) returning id, payload`,
      [now, token, 'default', now, n],
    );
  }
  return knex.transaction(async (trx) => {
    const [found] = await trx.raw(
      `select id, payload from ${TABLE} where queue = ? and reserved_at is null and available_at <= ? order by available_at, id limit ? for update skip locked`,
      ['default', now, n],
    );
    const rows = found as Array<{ id: number; payload: string }>;
    if (rows.length > 0)
      await trx.raw(
        `update ${TABLE} set reserved_at = ?, reserved_by = ?, attempts = attempts + 1 where id in (${rows.map(() => '?').join(',')})`,
        [now, token, ...rows.map((r) => r.id)],
      );
    return rows;
  });
}

async function deleteIds(ids: Array<number | string>): Promise<void> {
  await knex.raw(`delete from ${TABLE} where id in (${ids.map(() => '?').join(',')})`, ids);
}

await createTable();
switch (args.scenario) {
  case 'enqueue-one': {
    const started = clock();
    for (let i = 0; i < jobs; i++) {
      const r = row(i);
      await knex.raw(
        `insert into ${TABLE} (queue, payload, attempts, available_at, created_at) values (?, ?, ?, ?, ?)`,
        [r.queue, r.payload, r.attempts, r.available_at, r.created_at],
      );
    }
    emit({ ...base, scenario: 'enqueue-one', value: rate(jobs, clock() - started), unit: 'jobs/s' });
    break;
  }
  case 'enqueue-bulk': {
    const started = clock();
    await insertBulk(jobs);
    emit({ ...base, scenario: 'enqueue-bulk', value: rate(jobs, clock() - started), unit: 'jobs/s' });
    break;
  }
  case 'drain': {
    await insertBulk(jobs);
    const token = 'floor-worker';
    let done = 0;
    let free = concurrency;
    let wake: (() => void) | undefined;
    const running = new Set<Promise<void>>();
    const started = clock();
    // The naive loop: claim as many rows as there are free slots; each job deletes its own row.
    for (;;) {
      if (free === 0) await new Promise<void>((resolve) => (wake = resolve));
      const claimed = await claim(free, token);
      if (claimed.length === 0) {
        if (running.size === 0) break;
        await Promise.race(running);
        continue;
      }
      free -= claimed.length;
      for (const job of claimed) {
        const task = (async () => {
          JSON.parse(job.payload);
          await deleteIds([job.id]);
          done++;
        })().finally(() => {
          running.delete(task);
          free++;
          wake?.();
          wake = undefined;
        });
        running.add(task);
      }
    }
    if (done !== jobs) throw new Error(`raw drain: ${done} of ${jobs} rows were worked.`);
    emit({
      ...base,
      scenario: 'drain',
      concurrency,
      processes: 1,
      value: rate(jobs, clock() - started),
      unit: 'jobs/s',
    });
    break;
  }
  default:
    throw new Error(`Unknown scenario [${args.scenario}].`);
}
await knex.schema.dropTableIfExists(TABLE);
await knex.destroy();
