import type { Knex } from 'knex';

import type { DatabaseConnectionConfig } from '../../src/config/config-types.js';
import type { DatabaseQueue } from '../../src/drivers/database/database-queue.js';
import { boot } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { databaseQueue } from './database-queue.js';
import { type DatabaseEngine, freshDatabase } from './databases.js';

/**
 * Boots errand on a fresh database of `engine` (one connection, `database`, with `overrides`),
 * migrates it, and hands back its queue and knex. Errors are swallowed by `report`: the tests
 * assert on what the queue returns. Pair with `shutdown()` in afterAll.
 */
export async function bootDatabaseQueue(
  engine: DatabaseEngine,
  name: string,
  overrides: Partial<DatabaseConnectionConfig> = {},
): Promise<{ queue: DatabaseQueue; knex: Knex }> {
  const connection = await freshDatabase(engine, name);
  await boot({
    default: 'database',
    connections: { database: { ...connection, ...overrides } as DatabaseConnectionConfig },
    report: () => undefined,
  });
  await runMigrations();
  const queue = databaseQueue((await runtime()).queues);
  return { queue, knex: queue.knex };
}
