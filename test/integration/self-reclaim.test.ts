import type { Knex } from 'knex';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { Job } from '../../src/decorators/job.js';
import { JobProcessed } from '../../src/events/job-processed.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { events, runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { describeEachEngine, freshStore, storeConnections } from '../helpers/databases.js';

/** Where BounceJob records its attempts (set by the suite of the engine running). */
let bounceLog: (() => Knex) | undefined;
const RELEASES = 10;
/** Handlers running now, across every slot. */
let inHandle = 0;

@Job({ name: 'selfReclaim.BounceJob', tries: 0 })
class BounceJob extends Queueable {
  constructor(public n: number) {
    super();
  }

  async handle() {
    inHandle++;
    try {
      if (this.attempts() <= RELEASES) this.release(0);
      else {
        // Long enough that a worker which lost track of this attempt stops before it ends.
        await new Promise((resolve) => setTimeout(resolve, 100));
        await bounceLog!()('bounce_log').insert({ n: this.n, attempt: this.attempts() });
      }
    } finally {
      inHandle--;
    }
  }
}

// A worker that claims back a row it has just released must keep the two attempts apart: the
// first one winding up once freed the second one's slot and dropped it from the jobs it waits
// for, so more handlers ran than slots, the running-jobs table overflowed (the job was left
// reserved) and --stop-when-empty stopped with jobs unrun.
await describeEachEngine('a worker claiming back the rows it released', (engine) => {
  let knex: Knex;
  const reported: unknown[] = [];

  beforeAll(async () => {
    const store = await freshStore(engine, 'self_reclaim');
    await boot({
      default: store.default,
      connections: storeConnections(store),
      report: (error) => reported.push(error),
    });
    await runMigrations();
    knex = databaseQueue((await runtime()).queues, 'database').knex;
    bounceLog = () => knex;
    await knex.schema.createTable('bounce_log', (t) => {
      t.increments('id');
      t.integer('n').notNullable();
      t.integer('attempt').notNullable();
    });
  });
  afterAll(() => shutdown());

  it('runs 6 jobs that release themselves 10 times each on 8 slots to the end, and stops only when all are done', async () => {
    const jobs = 6;
    // A listener that takes a while holds each attempt open after its release has landed, so the
    // worker's next claim takes the row back while the attempt before is still winding up.
    const off = events.on(JobProcessed, () => new Promise<void>((resolve) => setTimeout(resolve, 20)));
    for (let n = 0; n < jobs; n++) await BounceJob.dispatch(n);
    try {
      expect(await createWorker({ concurrency: 8, stopWhenEmpty: true, sleep: 0 }).run()).toBe(0);
    } finally {
      off();
    }
    // The worker returned with no handler still running: it had lost track of none.
    expect(inHandle).toBe(0);

    expect(reported).toEqual([]);
    const rows = (await knex('bounce_log').select('n', 'attempt').orderBy('n')) as Array<{
      n: number;
      attempt: number;
    }>;
    // Each job reached its last attempt, once.
    expect(rows.map((row) => [Number(row.n), Number(row.attempt)])).toEqual(
      Array.from({ length: jobs }, (_, n) => [n, RELEASES + 1]),
    );
    expect(await (await runtime()).queues.worker().size('default')).toBe(0);
    expect(Number((await knex('failed_jobs').count({ n: '*' }))[0]!.n)).toBe(0);
  });
});
