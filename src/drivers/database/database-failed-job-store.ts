import type { Knex } from 'knex';

import type { ResolvedDatabaseConnection } from '../../config/config-types.js';
import type { FailedJobRecord, FailedJobStore, StoredFailedJob } from '../../contracts/failed-job-store.js';
import { describeDatabaseError } from './database-error.js';
import { countFailedJobs, deleteFailedJob, insertFailedJob, selectFailedJobs } from './queries/failed-jobs.js';

/** The `failed_jobs` table, kept in the database of one queue connection. */
export class DatabaseFailedJobStore implements FailedJobStore {
  constructor(
    readonly knex: Knex,
    readonly table: string,
    private readonly connectionName: string,
    private readonly config: ResolvedDatabaseConnection,
  ) {}

  all(): Promise<StoredFailedJob[]> {
    return this.run(() => selectFailedJobs(this.knex, this.table));
  }

  count(): Promise<number> {
    return this.run(() => countFailedJobs(this.knex, this.table));
  }

  /** The knex instance is shared with its queue connection, which closes it. */
  async close(): Promise<void> {}

  async find(uuid: string): Promise<StoredFailedJob | undefined> {
    return (await this.run(() => selectFailedJobs(this.knex, this.table, uuid)))[0];
  }

  forget(uuid: string): Promise<boolean> {
    return this.run(() => deleteFailedJob(this.knex, this.table, uuid));
  }

  log(record: FailedJobRecord): Promise<void> {
    return this.run(() => insertFailedJob(this.knex, this.table, record));
  }

  private async run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw describeDatabaseError(error, this.connectionName, this.config, this.table);
    }
  }
}
