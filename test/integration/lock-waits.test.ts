import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';

import type { DatabaseQueue } from '../../src/drivers/database/database-queue.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';

// The watchdog's hand-back writes must not wait past its deadline for another process's lock.
// better-sqlite3 waits synchronously, which no timer can interrupt, so on SQLite the wait itself
// is bounded (limitLockWaits); the servers' drivers wait asynchronously and are left alone.
const describeEachSql = databaseOnly(
  "limitLockWaits bounds a SQL client's lock waits; a Redis connection never waits for a lock",
);
await describeEachSql('bounding lock waits (limitLockWaits)', (engine) => {
  let queue: DatabaseQueue;
  let filename: string | undefined;

  beforeAll(async () => {
    const connection = await freshDatabase(engine, 'lock_waits');
    filename = engine === 'sqlite' ? (connection.connection as { filename: string }).filename : undefined;
    await boot({ default: 'database', connections: { database: connection } });
    await runMigrations();
    queue = databaseQueue((await runtime()).queues);
  });
  afterAll(() => shutdown());

  it(
    engine === 'sqlite'
      ? 'sets the busy timeout, so a write blocked by another process fails with SQLITE_BUSY instead of waiting 5 s'
      : 'changes nothing on a server, whose driver waits asynchronously',
    async () => {
      await queue.limitLockWaits(40.7);
      if (engine !== 'sqlite') {
        // Writes still work as before.
        await queue.knex('jobs').insert({ queue: 'q', payload: '{}', attempts: 0, available_at: 0, created_at: 0 });
        expect(await queue.knex('jobs').where({ queue: 'q' }).delete()).toBe(1);
        return;
      }
      expect(await queue.knex.raw('pragma busy_timeout')).toEqual([{ timeout: 40 }]);
      // Another process's connection holds the write lock.
      const other = new Database(filename!);
      other.exec('begin immediate');
      try {
        await expect(
          queue.knex('jobs').insert({ queue: 'q', payload: '{}', attempts: 0, available_at: 0, created_at: 0 }),
        ).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
      } finally {
        other.exec('rollback');
        other.close();
      }
    },
  );
});
