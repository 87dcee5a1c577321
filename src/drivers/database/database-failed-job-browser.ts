import type { ResolvedDatabaseConnection } from '../../config/config-types.js';
import type {
  CappedCount,
  FailedJobBrowser,
  FailedJobPage,
  FailedJobSearch,
} from '../../contracts/failed-job-store.js';
import { describeDatabaseError } from './database-error.js';
import { dialect } from './dialect.js';
import type { FailedTable } from './queries/browse-failed-jobs.js';
import { countFailedUpTo, failedQueues, pageFailedJobs } from './queries/browse-failed-jobs.js';

/**
 * The dashboard's reads of a `failed_jobs` table: pages and capped counts from the
 * (connection, queue, job, id) index and the primary key (decision 0062).
 */
export class DatabaseFailedJobBrowser implements FailedJobBrowser {
  private readonly failed: FailedTable;

  constructor(
    failed: Omit<FailedTable, 'engine'>,
    private readonly connectionName: string,
    private readonly config: ResolvedDatabaseConnection,
  ) {
    this.failed = { ...failed, engine: dialect.engineOf(config.client) };
  }

  countUpTo(search: FailedJobSearch, cap: number): Promise<CappedCount> {
    return this.run(() => countFailedUpTo(this.failed, search, cap));
  }

  async page(search: FailedJobSearch, limit: number, cursor?: string): Promise<FailedJobPage> {
    const whole = Math.trunc(limit);
    if (!(whole >= 1)) throw new RangeError(`page(): the limit must be a whole number ≥ 1, not ${String(limit)}.`);
    if (cursor !== undefined && !/^\d{1,18}$/.test(cursor))
      throw new RangeError(`The cursor ${JSON.stringify(cursor)} is not one a page of failed jobs handed out.`);
    return this.run(() => pageFailedJobs(this.failed, search, whole, cursor));
  }

  queues(): Promise<Array<{ connection: string; queue: string }>> {
    return this.run(() => failedQueues(this.failed));
  }

  private async run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw describeDatabaseError(error, this.connectionName, this.config, this.failed.table);
    }
  }
}
