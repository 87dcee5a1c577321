import type { ResolvedConfig, ResolvedConnection } from '../config/config-types.js';
import { ownProperty } from '../config/own-property.js';
import type { BatchRepository } from '../contracts/batch-repository.js';
import type { FailedJobBrowser, FailedJobStore } from '../contracts/failed-job-store.js';
import type { LockStore } from '../contracts/lock-store.js';
import type { Queue } from '../contracts/queue.js';
import { isWorkerQueue, type WorkerQueue } from '../contracts/worker-queue.js';
import {
  openBatchRepository,
  openFailedJobBrowser,
  openFailedJobStore,
  openLockStore,
  openQueue,
} from '../drivers/connect.js';
import { ConfigError } from '../errors/config-error.js';
import { NullFailedJobBrowser, NullFailedJobStore } from '../failed/null-failed-job-store.js';
import { registeredLockStore } from '../locks/lock-stores.js';
import { MemoryLockStore } from '../locks/memory-lock-store.js';

/**
 * Queue connections by name, opened on first use and kept for the life of the runtime (one knex
 * pool per database connection), and the failed-job store.
 */
export class QueueManager {
  private readonly drivers = new Map<string, Queue>();
  private failedStore: FailedJobStore | undefined;
  private failedBrowser: FailedJobBrowser | undefined;
  private batchRepository: BatchRepository | undefined;
  private lockStore: LockStore | undefined;

  constructor(
    readonly config: ResolvedConfig,
    private readonly runSyncPayload: (payload: string, connectionName: string) => Promise<void>,
  ) {}

  /** The queue of a connection (default: the configured default). */
  connection(name: string = this.config.default): Queue {
    const existing = this.drivers.get(name);
    if (existing) return existing;
    const driver = openQueue(name, this.configOf(name), (payload) => this.runSyncPayload(payload, name));
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

  /**
   * The queue of a connection whose jobs workers claim (and operators list, count, clear, pause),
   * or an error naming the connection and its driver when it keeps no jobs (`sync`, `null`).
   */
  worker(name: string = this.config.default): WorkerQueue {
    const driver = this.connection(name);
    if (!isWorkerQueue(driver)) {
      throw new ConfigError(
        `Queue connection [${name}] uses the ${this.configOf(name).driver} driver; only a database or redis connection keeps jobs that workers claim or that can be listed, counted or cleared.`,
      );
    }
    return driver;
  }

  /** A sync queue, whatever the configuration holds, for `dispatchSync`. */
  sync(): Queue {
    return openQueue('sync', { driver: 'sync' }, (payload) => this.runSyncPayload(payload, 'sync'));
  }

  /** Where failed jobs are recorded. */
  failer(): FailedJobStore {
    if (this.failedStore) return this.failedStore;
    const failed = this.config.failed;
    if (failed.driver === 'null') return (this.failedStore = new NullFailedJobStore());
    return (this.failedStore = openFailedJobStore(this.worker(failed.connection), failed.table));
  }

  /** The dashboard's reads of the failed jobs `failer()` records (none with the null store). */
  failedJobBrowser(): FailedJobBrowser {
    if (this.failedBrowser) return this.failedBrowser;
    const failed = this.config.failed;
    if (failed.driver === 'null') return (this.failedBrowser = new NullFailedJobBrowser());
    return (this.failedBrowser = openFailedJobBrowser(this.worker(failed.connection), failed.table));
  }

  /**
   * Where unique jobs and WithoutOverlapping take their locks: a store registered with
   * `registerLockStore`, else the configured `locks` table or redis connection (sharing its
   * connection's pool or client), else, with neither, this process's memory.
   */
  locks(): LockStore {
    const custom = registeredLockStore();
    if (custom) return custom;
    if (this.lockStore) return this.lockStore;
    const locks = this.config.locks;
    if (!locks) return (this.lockStore = new MemoryLockStore());
    return (this.lockStore = openLockStore(this.worker(locks.connection), locks.table));
  }

  /** Where batches are recorded (`batching` in the config). */
  batches(): BatchRepository {
    if (this.batchRepository) return this.batchRepository;
    const batching = this.config.batching;
    if (!batching)
      throw new ConfigError(
        'Batches are recorded in a database, and no database queue connection is configured (see `batching` in the config).',
      );
    return (this.batchRepository = openBatchRepository(this.worker(batching.connection), batching.table));
  }

  /** Closes every open connection. */
  async closeAll(): Promise<void> {
    const drivers = [...this.drivers.values()];
    this.drivers.clear();
    await this.failedStore?.close();
    this.failedStore = undefined;
    this.failedBrowser = undefined;
    this.batchRepository = undefined;
    this.lockStore = undefined;
    await Promise.all(drivers.map((driver) => driver.close()));
  }
}
