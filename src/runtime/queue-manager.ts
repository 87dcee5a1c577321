import type { ResolvedConfig, ResolvedDatabaseConnection } from '../config/config-types.js';
import type { FailedJobStore } from '../contracts/failed-job-store.js';
import type { QueueDriver } from '../contracts/queue-driver.js';
import { createKnex } from '../drivers/database/create-knex.js';
import { DatabaseFailedJobStore } from '../drivers/database/database-failed-job-store.js';
import { DatabaseQueue } from '../drivers/database/database-queue.js';
import { NullQueue } from '../drivers/null/null-queue.js';
import { SyncQueue } from '../drivers/sync/sync-queue.js';
import { ConfigError } from '../errors/config-error.js';
import { NullFailedJobStore } from '../failed/null-failed-job-store.js';

/**
 * Queue connections by name, opened on first use and kept for the life of the runtime (one knex
 * pool per database connection), and the failed-job store.
 */
export class QueueManager {
  private readonly drivers = new Map<string, QueueDriver>();
  private failedStore: FailedJobStore | undefined;

  constructor(
    readonly config: ResolvedConfig,
    private readonly runSyncPayload: (payload: string, connectionName: string) => Promise<void>,
  ) {}

  /** The driver of a connection (default: the configured default). */
  connection(name: string = this.config.default): QueueDriver {
    const existing = this.drivers.get(name);
    if (existing) return existing;
    const config = this.config.connections[name];
    if (!config) {
      throw new ConfigError(
        `Queue connection [${name}] is not defined. Defined connections: ${Object.keys(this.config.connections).join(', ')}.`,
      );
    }
    const driver =
      config.driver === 'database'
        ? new DatabaseQueue(name, createKnex(config), config)
        : config.driver === 'sync'
          ? new SyncQueue(name, (payload) => this.runSyncPayload(payload, name))
          : new NullQueue(name);
    this.drivers.set(name, driver);
    return driver;
  }

  /** The database queue of a connection, or an error naming it when it is not a database one. */
  database(name: string = this.config.default): DatabaseQueue {
    const driver = this.connection(name);
    if (!(driver instanceof DatabaseQueue)) {
      throw new ConfigError(`Queue connection [${name}] uses the ${this.config.connections[name]!.driver} driver, not database.`);
    }
    return driver;
  }

  /** A sync driver, whatever the configuration holds, for `dispatchSync`. */
  sync(): QueueDriver {
    return new SyncQueue('sync', (payload) => this.runSyncPayload(payload, 'sync'));
  }

  /** Where failed jobs are recorded. */
  failer(): FailedJobStore {
    if (this.failedStore) return this.failedStore;
    const failed = this.config.failed;
    if (failed.driver === 'null') return (this.failedStore = new NullFailedJobStore());
    const queue = this.database(failed.connection);
    return (this.failedStore = new DatabaseFailedJobStore(
      queue.knex,
      failed.table,
      failed.connection,
      this.config.connections[failed.connection] as ResolvedDatabaseConnection,
    ));
  }

  /** Closes every open connection. */
  async closeAll(): Promise<void> {
    const drivers = [...this.drivers.values()];
    this.drivers.clear();
    await this.failedStore?.close();
    this.failedStore = undefined;
    await Promise.all(drivers.map((driver) => driver.close()));
  }
}
