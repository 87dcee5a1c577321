import type { Knex } from 'knex';

import type { ResolvedDatabaseConnection } from '../../config/config-types.js';
import type {
  FailedJobFilter,
  FailedJobRecord,
  FailedJobStore,
  StoredFailedJob,
} from '../../contracts/failed-job-store.js';
import { describeDatabaseError } from './database-error.js';
import { dialect } from './dialect.js';
import {
  countFailedJobs,
  deleteFailedJob,
  deleteFailedJobsOlderThan,
  insertFailedJob,
  selectFailedJobs,
} from './queries/failed-jobs.js';

/** The `failed_jobs` table, kept in the database of one queue connection. */
export class DatabaseFailedJobStore implements FailedJobStore {
  constructor(
    readonly knex: Knex,
    readonly table: string,
    private readonly connectionName: string,
    private readonly config: ResolvedDatabaseConnection,
  ) {}

  all(filter: FailedJobFilter = {}): Promise<StoredFailedJob[]> {
    return this.run(() => selectFailedJobs(this.knex, this.table, filter));
  }

  count(): Promise<number> {
    return this.run(() => countFailedJobs(this.knex, this.table));
  }

  /** The knex instance is shared with its queue connection, which closes it. */
  async close(): Promise<void> {}

  async find(key: string): Promise<StoredFailedJob | undefined> {
    return (await this.run(() => selectFailedJobs(this.knex, this.table, { key })))[0];
  }

  flush(hours?: number): Promise<number> {
    return this.run(() =>
      deleteFailedJobsOlderThan(this.knex, dialect.engineOf(this.config.client), this.table, hours),
    );
  }

  forget(key: string): Promise<boolean> {
    return this.run(() => deleteFailedJob(this.knex, this.table, key));
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
