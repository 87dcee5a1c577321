import type { Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import { Bus } from '../../src/bus/bus.js';
import { dispatch } from '../../src/bus/dispatch.js';
import { afterCommit } from '../../src/bus/transactions.js';
import { AfterCommitError } from '../../src/errors/after-commit-error.js';
import { JobQueued } from '../../src/events/job-queued.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { events, runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { busLog, StepJob } from '../fixtures/jobs/bus-jobs.js';
import { AfterCommitJob, outbox, ShipOrderJob } from '../fixtures/jobs/transaction-jobs.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

const describeEachSql = databaseOnly(
  "dispatches in the application's knex transactions (withTransaction), which a redis connection refuses",
);
await describeEachSql('transactional dispatch', (engine) => {
  let knex: Knex;
  const reported: unknown[] = [];
  const jobCount = async (queue = 'outbox') =>
    Number(((await knex('jobs').where({ queue }).count({ n: '*' })) as Array<{ n: number | string }>)[0]!.n);
  const rollback = new Error('rolled back on purpose');
  const inRollback = async (body: (trx: Knex.Transaction) => Promise<unknown>) => {
    await expect(
      knex.transaction(async (trx) => {
        await body(trx);
        throw rollback;
      }),
    ).rejects.toBe(rollback);
  };

  beforeAll(async () => {
    const connection = await freshDatabase(engine, 'transactional');
    await boot({
      default: 'database',
      connections: {
        database: connection,
        // Its table is dropped after the migrations: every push to it fails.
        missing: { ...connection, table: 'missing_jobs' },
        sync: { driver: 'sync' },
      },
      report: (error) => reported.push(error),
    });
    await runMigrations();
    knex = databaseQueue((await runtime()).queues).knex;
    outbox.knex = knex;
    await knex.schema.dropTable('missing_jobs');
    await knex.schema.createTable('orders', (t) => {
      t.integer('id').primary();
    });
  });
  afterAll(() => shutdown());
  beforeEach(async () => {
    outbox.reset();
    busLog.reset();
    reported.length = 0;
    await knex('jobs').delete();
    await knex('orders').delete();
  });

  it('afterCommit(trx): pushes only once the transaction commits, and drops the job on rollback', async () => {
    let inside: number | undefined;
    await knex.transaction(async (trx) => {
      await trx('orders').insert({ id: 1 });
      expect(await ShipOrderJob.dispatch(1).afterCommit(trx)).toBeNull();
      inside = Number(((await trx('jobs').count({ n: '*' })) as Array<{ n: number }>)[0]!.n);
    });
    expect(inside).toBe(0);
    await settle();
    expect(await jobCount()).toBe(1);

    await inRollback(async (trx) => {
      await trx('orders').insert({ id: 2 });
      await ShipOrderJob.dispatch(2).afterCommit(trx);
    });
    await settle();
    expect(await jobCount()).toBe(1);
    expect(reported).toEqual([]);
  });

  it('settles the awaited transaction only once its after-commit pushes are stored: counted right after, before a later dispatch', async () => {
    const orderIds = async () =>
      (
        (await knex('jobs').where({ queue: 'outbox' }).orderBy('id').select('payload')) as Array<{ payload: string }>
      ).map((row) => JSON.parse(row.payload).data.command.orderId as number);
    const queued: string[] = [];
    const off = events.on(JobQueued, (event) => void queued.push(event.id));
    try {
      await knex.transaction(async (trx) => {
        await trx('orders').insert({ id: 1 });
        await ShipOrderJob.dispatch(1).afterCommit(trx);
        await Bus.withinTransaction(trx, () => AfterCommitJob.dispatch(2));
      });
      // Stored and announced before the transaction settled: read before any other round trip.
      expect(queued).toHaveLength(2);
    } finally {
      off();
    }
    expect(await jobCount()).toBe(2);
    await ShipOrderJob.dispatch(3);
    expect(await orderIds()).toEqual([1, 2, 3]);
    // A transaction driven by hand: the awaited commit() waits the same way.
    const trx = await knex.transaction();
    await trx('orders').insert({ id: 4 });
    await ShipOrderJob.dispatch(4).afterCommit(trx);
    await trx.commit();
    expect(await orderIds()).toEqual([1, 2, 3, 4]);
    // A savepoint's jobs wait for the outermost commit, and the outermost commit waits for them.
    await knex.transaction(async (outer) => {
      await outer.transaction(async (inner) => {
        await ShipOrderJob.dispatch(5).afterCommit(inner);
      });
    });
    await ShipOrderJob.dispatch(6);
    expect(await orderIds()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(reported).toEqual([]);
  });

  it('rejects the awaited transaction with AfterCommitError when an after-commit push fails: the data stays committed, the other pushes are stored', async () => {
    let failure: unknown;
    await knex
      .transaction(async (trx) => {
        await trx('orders').insert({ id: 7 });
        await ShipOrderJob.dispatch(7).onConnection('missing').afterCommit(trx);
        await ShipOrderJob.dispatch(8).afterCommit(trx);
      })
      .catch((error: unknown) => (failure = error));
    expect(failure).toBeInstanceOf(AfterCommitError);
    expect((failure as AfterCommitError).message).toMatch(
      /^The transaction committed, but 1 of its 2 after-commit dispatches failed: Job ShipOrderJob on \[missing\]: /,
    );
    expect((failure as AfterCommitError).failures).toHaveLength(1);
    expect(await knex('orders').where({ id: 7 }).first()).toBeDefined();
    expect(await jobCount()).toBe(1);
    // By hand, the awaited commit() rejects the same way.
    const trx = await knex.transaction();
    await ShipOrderJob.dispatch(9).onConnection('missing').afterCommit(trx);
    await expect(trx.commit()).rejects.toThrow(AfterCommitError);
    expect(reported).toEqual([]);
  });

  it('drops the job on an explicit trx.rollback() too (knex resolves, not rejects, such a transaction)', async () => {
    const queued: string[] = [];
    const off = events.on(JobQueued, (event) => void queued.push(event.id));
    try {
      const trx = await knex.transaction();
      await trx('orders').insert({ id: 3 });
      await ShipOrderJob.dispatch(3).afterCommit(trx);
      await ShipOrderJob.dispatch(4).withTransaction(trx);
      await trx.rollback();
      await settle();
      expect(await jobCount()).toBe(0);
      expect(queued).toEqual([]);
      expect(reported).toEqual([]);
    } finally {
      off();
    }
  });

  it('waits for the outermost transaction: a released savepoint has committed nothing', async () => {
    await inRollback(async (trx) => {
      await trx.transaction(async (inner) => {
        await ShipOrderJob.dispatch(5).afterCommit(inner);
      });
      await settle();
    });
    await settle();
    expect(await jobCount()).toBe(0);
    await knex.transaction(async (trx) => {
      await trx.transaction(async (inner) => {
        await ShipOrderJob.dispatch(6).afterCommit(inner);
      });
    });
    await settle();
    expect(await jobCount()).toBe(1);
  });

  it('withTransaction(trx): the INSERT is part of the application transaction, committed or rolled back with it', async () => {
    await knex.transaction(async (trx) => {
      await trx('orders').insert({ id: 1 });
      const id = await ShipOrderJob.dispatch(1).withTransaction(trx);
      expect(typeof id).toBe('string');
      expect(Number(((await trx('jobs').count({ n: '*' })) as Array<{ n: number }>)[0]!.n)).toBe(1);
    });
    expect(await jobCount()).toBe(1);
    await inRollback(async (trx) => {
      await trx('orders').insert({ id: 2 });
      await ShipOrderJob.dispatch(2).withTransaction(trx);
    });
    expect(await jobCount()).toBe(1);
    await createWorker({ queues: ['outbox'], stopWhenEmpty: true, sleep: 0 }).run();
    expect(outbox.seen).toEqual([1]);
  });

  it('honours the ambient transaction: @Job afterCommit, .afterCommit() and .beforeCommit()', async () => {
    await knex.transaction((trx) =>
      Bus.withinTransaction(trx, async () => {
        expect(await AfterCommitJob.dispatch(1)).toBeNull();
        expect(await ShipOrderJob.dispatch(2).afterCommit()).toBeNull();
        // beforeCommit pushes at once, outside the transaction (on SQLite its only connection is the
        // transaction's, so this push would wait for it: the check is for the server engines).
        if (engine !== 'sqlite') expect(typeof (await dispatch(new AfterCommitJob(3)).beforeCommit())).toBe('string');
        // (SQLite: read through the transaction, which holds its only connection.)
        const visible =
          engine === 'sqlite'
            ? Number(((await trx('jobs').count({ n: '*' })) as Array<{ n: number }>)[0]!.n)
            : await jobCount();
        expect(visible).toBe(engine === 'sqlite' ? 0 : 1);
      }),
    );
    await settle();
    expect(await jobCount()).toBe(engine === 'sqlite' ? 2 : 3);
    // Outside any transaction, afterCommit has nothing to wait for.
    expect(typeof (await AfterCommitJob.dispatch(4))).toBe('string');
  });

  it('supports chains in transactions and refuses withTransaction on a non-database connection', async () => {
    await inRollback((trx) =>
      Bus.chain([new StepJob('a'), new StepJob('b')])
        .withTransaction(trx)
        .dispatch(),
    );
    expect(await jobCount('default')).toBe(0);
    await knex.transaction((trx) =>
      Bus.chain([new StepJob('a'), new StepJob('b')])
        .afterCommit(trx)
        .dispatch(),
    );
    await settle();
    expect(await jobCount('default')).toBe(1);
    await expect(
      Bus.chain([new StepJob('a')])
        .afterCommit(knex as never)
        .dispatch(),
    ).rejects.toThrow('Job StepJob: afterCommit(trx) needs a knex transaction.');
    await expect(
      Bus.chain([new StepJob('a')])
        .withTransaction(knex as never)
        .dispatch(),
    ).rejects.toThrow('Job StepJob: withTransaction(trx) needs a knex transaction.');
    // A chain's first job follows its own @Job({ afterCommit }) inside an ambient transaction.
    await inRollback((trx) =>
      Bus.withinTransaction(trx, () => Bus.chain([new AfterCommitJob(9), new StepJob('b')]).dispatch()),
    );
    await settle();
    expect(await jobCount()).toBe(0);
    await knex.transaction(async (trx) => {
      await expect(ShipOrderJob.dispatch(1).onConnection('sync').withTransaction(trx)).rejects.toThrow(
        'withTransaction(trx) needs a database queue connection; [sync] is not one.',
      );
    });
  });

  it('takes turns on the held connection: dispatches fanned out at once by a JobQueued listener inside the held commit are all stored, one push at a time', async () => {
    const queue = databaseQueue((await runtime()).queues);
    const push = queue.push.bind(queue);
    let inFlight = 0;
    let most = 0;
    queue.push = async (request) => {
      if (!request.transaction) return push(request);
      most = Math.max(most, ++inFlight);
      try {
        return await push(request);
      } finally {
        inFlight--;
      }
    };
    const off = events.on(JobQueued, async (event) => {
      const orderId = (JSON.parse(JSON.stringify(event.payload)) as { data: { command: { orderId: number } } }).data
        .command.orderId;
      if (orderId === 20) await Promise.all([21, 22, 23, 24, 25].map((id) => ShipOrderJob.dispatch(id)));
    });
    try {
      await knex.transaction(async (trx) => {
        await trx('orders').insert({ id: 20 });
        await ShipOrderJob.dispatch(20).afterCommit(trx);
      });
    } finally {
      off();
      queue.push = push;
    }
    expect(reported).toEqual([]);
    expect(await jobCount()).toBe(6);
    // Each push is a BEGIN … COMMIT of its own on the one connection: never two at once.
    expect(most).toBe(1);
  });

  it('runs a job sent after commit to the sync connection once the transaction has let its connection go: its query through the same knex completes', async () => {
    await knex.transaction(async (trx) => {
      await trx('orders').insert({ id: 30 });
      // Its handle() reads the order through errand's knex (on SQLite the pool's only connection).
      expect(await ShipOrderJob.dispatch(30).onConnection('sync').afterCommit(trx)).toBeNull();
      await ShipOrderJob.dispatch(31).afterCommit(trx);
    });
    await eventually('the sync job has run', async () => outbox.seen.length + outbox.missing.length > 0);
    expect(outbox.seen).toEqual([30]);
    expect(outbox.missing).toEqual([]);
    expect(await jobCount()).toBe(1);
    expect(reported).toEqual([]);
    // Its failure can no longer reach the settled transaction: it goes to report(), naming the job.
    await knex.transaction(async (trx) => {
      await dispatch(new StepJob('late', true)).onConnection('sync').afterCommit(trx);
    });
    await eventually('the sync job failure is reported', async () => reported.length > 0);
    expect(reported[0]).toBeInstanceOf(AfterCommitError);
    expect((reported[0] as Error).message).toMatch(/Job StepJob on \[sync\]: step late broke/);
  });

  it('still runs work registered while the commit is under way when a sibling push failed: the transaction committed', async () => {
    const hooks = { track: <T>(promise: Promise<T>) => promise, report: (error: unknown) => void reported.push(error) };
    const late: string[] = [];
    let failure: unknown;
    await knex
      .transaction(async (trx) => {
        await trx('orders').insert({ id: 40 });
        afterCommit(
          trx,
          {
            what: 'the first',
            committed: async () => {
              // The commit is under way: this registration cannot hold it any more.
              afterCommit(
                trx,
                {
                  what: 'the late one',
                  committed: async () => void late.push('ran'),
                  dropped: () => void late.push('dropped'),
                },
                hooks,
              );
              throw new Error('the first failed');
            },
            dropped: () => undefined,
          },
          hooks,
        );
      })
      .catch((error: unknown) => (failure = error));
    expect(failure).toBeInstanceOf(AfterCommitError);
    expect(await knex('orders').where({ id: 40 }).first()).toBeDefined();
    await eventually('the late work has settled', async () => late.length > 0);
    expect(late).toEqual(['ran']);
    expect(reported).toEqual([]);
  });

  it('proof: 1,000 dispatches in transactions that roll back and 1,000 that commit, with a worker running', async () => {
    // The worker shares vitest's process, whose RSS after three engines' files nears the default
    // 256 MB limit: the worker then stops for memory (status 12) with jobs still waiting.
    const worker = createWorker({ queues: ['outbox'], sleep: 0.05, concurrency: 4, memory: 4096 });
    const running = worker.run();
    const committed: number[] = [];
    for (let i = 1; i <= 2000; i++) {
      const commits = i % 2 === 0;
      // Half through afterCommit, half through withTransaction (the outbox).
      const viaOutbox = i % 4 < 2;
      const body = async (trx: Knex.Transaction) => {
        await trx('orders').insert({ id: i });
        const pending = ShipOrderJob.dispatch(i);
        await (viaOutbox ? pending.withTransaction(trx) : pending.afterCommit(trx));
      };
      if (commits) {
        await knex.transaction(body);
        committed.push(i);
      } else {
        await inRollback(body);
      }
    }
    // Wait for the worker to drain (it takes a few seconds): the bound only catches a hang.
    for (let i = 0; i < 2400 && outbox.seen.length < committed.length; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    worker.stop();
    await running;
    expect(outbox.missing).toEqual([]);
    expect(outbox.seen.sort((a, b) => a - b)).toEqual(committed);
    expect(await jobCount()).toBe(0);
    expect(Number(((await knex('failed_jobs').count({ n: '*' })) as Array<{ n: number }>)[0]!.n)).toBe(0);
    expect(reported).toEqual([]);
  }, 240_000);
});
