import type { Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import type { DatabaseQueue } from '../../src/drivers/database/database-queue.js';
import { shutdown } from '../../src/runtime/boot.js';
import { bootDatabaseQueue } from '../helpers/boot-database-queue.js';
import { databaseOnly } from '../helpers/databases.js';

// A push sends the same one-row INSERT every time, kept prepared on its connection (SQLite,
// PostgreSQL). One pooled connection, so every statement here meets what the previous one left.
const describeEachSql = databaseOnly("the database driver's prepared INSERT statement");
await describeEachSql('the prepared job insert', (engine) => {
  let queue: DatabaseQueue;
  let knex: Knex;
  const push = (payload: string, delay?: number | Date) => queue.push({ queue: 'prepared', payload, delay });
  const payloads = async () =>
    ((await knex('jobs').select('payload').orderBy('id')) as Array<{ payload: string }>).map((row) => row.payload);

  beforeAll(async () => {
    ({ queue, knex } = await bootDatabaseQueue(engine, 'prepared_inserts', { pool: { min: 0, max: 1 } }));
  });
  afterAll(() => shutdown());
  beforeEach(async () => {
    await knex('jobs').delete();
  });

  it('runs again and again, for each kind of delay, with increasing ids', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(
        Number(await push(`now ${i}`)),
        Number(await push(`delay ${i}`, 5)),
        Number(await push(`at ${i}`, new Date(Date.now() + 60_000))),
      );
    }
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(await payloads()).toEqual([0, 1, 2].flatMap((i) => [`now ${i}`, `delay ${i}`, `at ${i}`]));
  });

  it('still works after the table changed under it', async () => {
    await push('before');
    await knex.schema.alterTable('jobs', (t) => t.integer('extra').nullable());
    try {
      await push('after');
    } finally {
      await knex.schema.alterTable('jobs', (t) => t.dropColumn('extra'));
    }
    await push('restored');
    expect(await payloads()).toEqual(['before', 'after', 'restored']);
  });

  if (engine === 'postgres') {
    it('falls back to unprepared statements when the server lost them (a pooler in transaction mode)', async () => {
      await push('prepared');
      // What a transaction-mode pooler does by handing the connection to another server.
      await knex.raw('deallocate all');
      await push('after the loss');
      await push('unprepared from now on');
      expect(await payloads()).toEqual(['prepared', 'after the loss', 'unprepared from now on']);
    });
  }
});
