import type { RateLimitStore } from '../contracts/rate-limit-store.js';
import { describeDatabaseError } from '../drivers/database/database-error.js';
import type { DatabaseQueue } from '../drivers/database/database-queue.js';
import { DatabaseRateLimitStore } from '../drivers/database/database-rate-limit-store.js';
import { ConfigError } from '../errors/config-error.js';
import { runtime } from '../runtime/current.js';

let replacement: RateLimitStore | undefined;
const stores = new WeakMap<DatabaseQueue, RateLimitStore>();

/**
 * @internal For tests of middleware logic: count in `store` instead of the database until it is
 * called again with undefined.
 */
export function swapRateLimitStore(store: RateLimitStore | undefined): void {
  replacement = store;
}

/**
 * The counters RateLimited and ThrottlesExceptions share: the `rateLimits` table on its
 * connection (config `rateLimits`, default the default connection). Without any database
 * connection there is nowhere every worker could count, which is a ConfigError naming the option.
 */
export async function rateLimitStore(): Promise<RateLimitStore> {
  if (replacement) return replacement;
  const app = await runtime();
  const where = app.config.rateLimits;
  if (!where) {
    throw new ConfigError(
      'Rate limiting counts in a database table, and no database queue connection is configured: add one, and name it in `rateLimits.connection` if it is not the default.',
    );
  }
  const queue = app.queues.database(where.connection);
  let store = stores.get(queue);
  if (!store) {
    const limits = { knex: queue.knex, engine: queue.engine, table: where.table };
    store = new DatabaseRateLimitStore(limits, (error) =>
      describeDatabaseError(error, where.connection, queue.config, where.table),
    );
    stores.set(queue, store);
  }
  return store;
}
