import type { ResolvedConfig, ResolvedConnection, ResolvedDatabaseConnection } from '../config/config-types.js';
import { ownProperty } from '../config/own-property.js';
import type { FailedJobStore } from '../contracts/failed-job-store.js';
import type { LockStore } from '../contracts/lock-store.js';
import type { QueueDriver } from '../contracts/queue-driver.js';
import { createKnex } from '../drivers/database/create-knex.js';
import { DatabaseBatchRepository } from '../drivers/database/database-batch-repository.js';
import { DatabaseFailedJobStore } from '../drivers/database/database-failed-job-store.js';
import { DatabaseLockStore } from '../drivers/database/database-lock-store.js';
import { DatabaseQueue } from '../drivers/database/database-queue.js';
import { NullQueue } from '../drivers/null/null-queue.js';
import { SyncQueue } from '../drivers/sync/sync-queue.js';
import { ConfigError } from '../errors/config-error.js';
import { NullFailedJobStore } from '../failed/null-failed-job-store.js';
import { registeredLockStore } from '../locks/lock-stores.js';
import { MemoryLockStore } from '../locks/memory-lock-store.js';

/**
 * Queue connections by name, opened on first use and kept for the life of the runtime (one knex
 * pool per database connection), and the failed-job store.
 */
export class QueueManager {
  private readonly drivers = new Map<string, QueueDriver>();
  private failedStore: FailedJobStore | undefined;
  private batchRepository: DatabaseBatchRepository | undefined;
  private lockStore: LockStore | undefined;

  constructor(
    readonly config: ResolvedConfig,
    private readonly runSyncPayload: (payload: string, connectionName: string) => Promise<void>,
  ) {}

  /** The driver of a connection (default: the configured default). */
  connection(name: string = this.config.default): QueueDriver {
    const existing = this.drivers.get(name);
    if (existing) return existing;
    const config = this.configOf(name);
    const driver =
      config.driver === 'database'
        ? new DatabaseQueue(name, createKnex(config, name), config)
        : config.driver === 'sync'
          ? new SyncQueue(name, (payload) => this.runSyncPayload(payload, name))
          : new NullQueue(name);
    this.drivers.set(name, driver);
    return driver;
  }

  /** The configuration of a connection, or an error naming it and the defined ones. */
  configOf(name: string): ResolvedConnection {
    const config = ownProperty(this.config.connections, name);
    if (!config) {
      throw new ConfigError(
        `Queue connection [${name}] is not defined. Defined connections: ${Object.keys(this.config.connections).join(', ')}.`,
      );
    }
    return config;
  }

  /** The database queue of a connection, or an error naming it when it is not a database one. */
  database(name: string = this.config.default): DatabaseQueue {
    const driver = this.connection(name);
    if (!(driver instanceof DatabaseQueue)) {
      throw new ConfigError(
        `Queue connection [${name}] uses the ${this.configOf(name).driver} driver; only a database connection keeps jobs that can be listed, counted or cleared.`,
      );
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
      ownProperty(this.config.connections, failed.connection) as ResolvedDatabaseConnection,
    ));
  }

  /**
   * Where unique jobs and WithoutOverlapping take their locks: a store registered with
   * `registerLockStore`, else the configured `locks` table (sharing its connection's pool), else,
   * with no database connection at all, this process's memory.
   */
  locks(): LockStore {
    const custom = registeredLockStore();
    if (custom) return custom;
    if (this.lockStore) return this.lockStore;
    const locks = this.config.locks;
    if (!locks) return (this.lockStore = new MemoryLockStore());
    const queue = this.database(locks.connection);
    return (this.lockStore = new DatabaseLockStore(queue.knex, locks.table, locks.connection, queue.config));
  }

  /** Where batches are recorded (`batching` in the config). */
  batches(): DatabaseBatchRepository {
    if (this.batchRepository) return this.batchRepository;
    const batching = this.config.batching;
    if (!batching)
      throw new ConfigError(
        'Batches are recorded in a database, and no database queue connection is configured (see `batching` in the config).',
      );
    const queue = this.database(batching.connection);
    return (this.batchRepository = new DatabaseBatchRepository(
      queue.knex,
      batching.table,
      batching.connection,
      queue.config,
    ));
  }

  /** Closes every open connection. */
  async closeAll(): Promise<void> {
    const drivers = [...this.drivers.values()];
    this.drivers.clear();
    await this.failedStore?.close();
    this.failedStore = undefined;
    this.batchRepository = undefined;
    this.lockStore = undefined;
    await Promise.all(drivers.map((driver) => driver.close()));
  }
}
