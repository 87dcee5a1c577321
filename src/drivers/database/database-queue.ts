import type { Knex } from 'knex';

import type { ResolvedDatabaseConnection } from '../../config/config-types.js';
import type { FailedJobRecord, FailedJobStore } from '../../contracts/failed-job-store.js';
import type { PushRequest, QueueDriver } from '../../contracts/queue-driver.js';
import type { ReservedJob } from '../../contracts/reserved-job.js';
import { DatabaseFailedJobStore } from './database-failed-job-store.js';
import { describeDatabaseError } from './database-error.js';
import { dialect, type Engine, type ServerInfo } from './dialect.js';
import { claimJobs } from './queries/claim-jobs.js';
import { insertFailedJob } from './queries/failed-jobs.js';
import { deleteReservedJob, releaseReservedJob } from './queries/finish-jobs.js';
import { insertJobs } from './queries/insert-jobs.js';
import { clearJobs, countJobs } from './queries/queue-stats.js';

/** A queue connection whose jobs live in a database table (Laravel's `database` driver). */
export class DatabaseQueue implements QueueDriver {
  readonly engine: Engine;
  private serverInfo: Promise<ServerInfo> | undefined;

  constructor(
    readonly connectionName: string,
    readonly knex: Knex,
    readonly config: ResolvedDatabaseConnection,
    private readonly warn: (message: string) => void = (message) => console.warn(`[errand] ${message}`),
  ) {
    this.engine = dialect.engineOf(config.client);
  }

  get defaultQueue(): string {
    return this.config.queue;
  }

  get table(): string {
    return this.config.table;
  }

  bulk(requests: readonly PushRequest[]): Promise<string[]> {
    return this.run(() => insertJobs(this.knex, this.engine, this.table, requests));
  }

  claim(queue: string, limit: number, leaseToken: string): Promise<ReservedJob[]> {
    const input = { table: this.table, queue, limit, leaseToken, retryAfter: this.config.retryAfter };
    return this.run(async () => {
      const info = await this.server();
      try {
        return await claimJobs(this.knex, info, input);
      } catch (error) {
        // A deadlock or lock timeout between claimers is worth exactly one more try.
        if (!dialect.isRetryableLock(error)) throw error;
        return claimJobs(this.knex, info, input);
      }
    });
  }

  clear(queue: string): Promise<number> {
    return this.run(() => clearJobs(this.knex, this.table, queue));
  }

  async close(): Promise<void> {
    await this.knex.destroy();
  }

  delete(job: ReservedJob): Promise<boolean> {
    return this.run(() => deleteReservedJob(this.knex, this.engine, this.table, job));
  }

  fail(job: ReservedJob, record: FailedJobRecord, store: FailedJobStore): Promise<boolean> {
    if (store instanceof DatabaseFailedJobStore && store.knex === this.knex) {
      // Same database: the failed record and the delete commit together, fenced on the lease.
      return this.run(() =>
        this.knex.transaction(async (trx) => {
          if (!(await deleteReservedJob(trx, this.engine, this.table, job))) return false;
          await insertFailedJob(trx, store.table, record);
          return true;
        }),
      );
    }
    // Another database: record first (idempotent on uuid), so a crash in between loses nothing.
    return store.log(record).then(() => this.delete(job));
  }

  async push(request: PushRequest): Promise<string> {
    const [id] = await this.bulk([request]);
    return id!;
  }

  release(job: ReservedJob, delaySeconds: number, exceptions: number): Promise<boolean> {
    return this.run(() => releaseReservedJob(this.knex, this.engine, this.table, job, delaySeconds, exceptions));
  }

  /** The server's engine and version, read once; warns when claims must take plain locks. */
  server(): Promise<ServerInfo> {
    this.serverInfo ??= dialect.detect(this.knex, this.engine).then((info) => {
      if (info.engine !== 'sqlite' && !info.skipLocked) {
        this.warn(
          `Queue connection [${this.connectionName}]: server ${info.version} has no SKIP LOCKED; ` +
            'claims take plain row locks and several workers will wait on each other. Use MySQL ≥ 8.0.1, MariaDB ≥ 10.6 or PostgreSQL ≥ 9.5.',
        );
      }
      return info;
    });
    this.serverInfo.catch(() => (this.serverInfo = undefined));
    return this.serverInfo;
  }

  size(queue: string): Promise<number> {
    return this.run(() => countJobs(this.knex, this.table, queue));
  }

  private async run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw describeDatabaseError(error, this.connectionName, this.config, this.table);
    }
  }
}
