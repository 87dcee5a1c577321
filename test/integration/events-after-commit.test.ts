import type { Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import { Inject } from '../../src/decorators/inject.js';
import { Listener } from '../../src/decorators/listener.js';
import { JobQueued } from '../../src/events/job-queued.js';
import { Event } from '../../src/listeners/event.js';
import { dispatchEvent } from '../../src/listeners/event-dispatcher.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { events, runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';

class OrderPlaced extends Event {
  constructor(public orderId: number) {
    super();
  }
}

@Listener({ queued: true, afterCommit: true, queue: 'after-commit' })
class ShipOnCommit {
  @Inject()
  async handle(_event: OrderPlaced) {}
}

class OrderPaid extends Event {
  constructor(public orderId: number) {
    super();
  }
}

/** Where the sync listener reads the orders, and what it found. */
const paid = { knex: undefined as Knex | undefined, states: [] as string[] };

@Listener({ queued: true, afterCommit: true, connection: 'sync' })
class RecordPayment {
  @Inject()
  async handle(event: OrderPaid) {
    const row = (await paid.knex!('orders').where({ id: event.orderId }).first()) as { state: string } | undefined;
    paid.states.push(row?.state ?? 'missing');
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

const describeEachSql = databaseOnly(
  "dispatches inside the application's knex transaction on the jobs' own database and reads the jobs table",
);
await describeEachSql('queued listeners with afterCommit', (engine) => {
  let knex: Knex;
  const queued: string[] = [];
  const reported: unknown[] = [];
  let off: () => void;

  beforeAll(async () => {
    await boot({
      default: 'database',
      connections: { database: await freshDatabase(engine, 'events_commit'), sync: { driver: 'sync' } },
      report: (error) => reported.push(error),
    });
    await runMigrations();
    knex = databaseQueue((await runtime()).queues).knex;
    paid.knex = knex;
    await knex.schema.createTable('orders', (t) => {
      t.increments('id');
      t.string('state', 20);
    });
    off = events.on(JobQueued, (event) => void queued.push(`${event.queue}:${event.payload.displayName}`));
  });
  afterAll(async () => {
    off();
    await shutdown();
  });
  beforeEach(async () => {
    queued.length = 0;
    reported.length = 0;
    paid.states.length = 0;
    await knex('jobs').delete();
  });
  const jobRows = async () =>
    ((await knex('jobs').select('queue').orderBy('id')) as Array<{ queue: string }>).map((row) => row.queue);

  it('pushes an afterCommit listener only once the transaction commits', async () => {
    expect(ShipOnCommit).toBeDefined();
    // (On SQLite the transaction holds the only connection: a push inside it could not even start.)
    const atOnceInside: string[] = [];
    await knex.transaction(async (trx) => {
      await trx('orders').insert({ state: 'placed' });
      await dispatchEvent(new OrderPlaced(1), { transaction: trx });
      await settle();
      atOnceInside.push(...queued);
    });
    expect(atOnceInside).toEqual([]);
    await settle();
    expect(queued).toEqual(['after-commit:ShipOnCommit']);
    expect(await jobRows()).toEqual(['after-commit']);
    expect(await knex('orders').where({ state: 'placed' }).count({ n: '*' })).toEqual([{ n: expect.anything() }]);
  });

  it('drops an afterCommit listener when the transaction rolls back', async () => {
    await expect(
      knex.transaction(async (trx) => {
        await trx('orders').insert({ state: 'doomed' });
        await dispatchEvent(new OrderPlaced(2), { transaction: trx });
        throw new Error('payment declined');
      }),
    ).rejects.toThrow('payment declined');
    await settle();
    expect(queued).toEqual([]);
    expect(await jobRows()).toEqual([]);
    expect(await knex('orders').where({ state: 'doomed' }).first()).toBeUndefined();
  });

  it('pushes at once when no transaction is given, or when it has already committed', async () => {
    await OrderPlaced.dispatch(3);
    expect(queued).toEqual(['after-commit:ShipOnCommit']);
    let finished: Knex.Transaction | undefined;
    await knex.transaction(async (trx) => {
      finished = trx;
    });
    await dispatchEvent(new OrderPlaced(4), { transaction: finished });
    expect(queued).toEqual(['after-commit:ShipOnCommit', 'after-commit:ShipOnCommit']);
    expect(await jobRows()).toEqual(['after-commit', 'after-commit']);
  });

  it('runs an afterCommit listener on the sync connection once the transaction has let its connection go: its query through the same knex completes', async () => {
    expect(RecordPayment).toBeDefined();
    let id = 0;
    await knex.transaction(async (trx) => {
      [id] = ((await trx('orders').insert({ state: 'paid' }, ['id'])) as Array<number | { id: number }>).map((row) =>
        typeof row === 'number' ? row : row.id,
      );
      await dispatchEvent(new OrderPaid(id), { transaction: trx });
    });
    await eventually('the sync listener has run', async () => paid.states.length > 0);
    expect(paid.states).toEqual(['paid']);
    expect(reported).toEqual([]);
  });
});
