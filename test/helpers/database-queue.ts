import { DatabaseQueue } from '../../src/drivers/database/database-queue.js';
import type { QueueManager } from '../../src/runtime/queue-manager.js';

/** The database queue of a connection (default: the default one), for tests that reach into its knex, config or tables. */
export function databaseQueue(queues: QueueManager, name?: string): DatabaseQueue {
  const queue = queues.worker(name);
  if (!(queue instanceof DatabaseQueue)) throw new Error(`Connection [${queue.connectionName}] is not a database one.`);
  return queue;
}
