import type { RateLimitStore } from '../contracts/rate-limit-store.js';
import type { WorkerQueue } from '../contracts/worker-queue.js';
import { openRateLimitStore } from '../drivers/connect.js';
import { ConfigError } from '../errors/config-error.js';
import { runtime } from '../runtime/current.js';

let replacement: RateLimitStore | undefined;
const stores = new WeakMap<WorkerQueue, RateLimitStore>();

/**
 * @internal For tests of middleware logic: count in `store` instead of the database until it is
 * called again with undefined.
 */
export function swapRateLimitStore(store: RateLimitStore | undefined): void {
  replacement = store;
}

/**
 * The counters RateLimited and ThrottlesExceptions share: the `rateLimits` table on its database
 * connection, or its keys on a redis one (config `rateLimits`, default the default connection).
 * Without either there is nowhere every worker could count, which is a ConfigError naming the option.
 */
export async function rateLimitStore(): Promise<RateLimitStore> {
  if (replacement) return replacement;
  const app = await runtime();
  const where = app.config.rateLimits;
  if (!where) {
    throw new ConfigError(
      'Rate limiting counts in a database table or in Redis, and no database or redis queue connection is configured: add one, and name it in `rateLimits.connection` if it is not the default.',
    );
  }
  const queue = app.queues.worker(where.connection);
  let store = stores.get(queue);
  if (!store) {
    store = openRateLimitStore(queue, where.table);
    stores.set(queue, store);
  }
  return store;
}
