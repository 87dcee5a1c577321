import type { Knex } from 'knex';

import type { ResolvedDatabaseConnection } from '../../config/config-types.js';
import type { JobMetricsSample, MetricsQuery, MetricsRepository } from '../../contracts/metrics-repository.js';
import { describeDatabaseError } from './database-error.js';
import { dialect } from './dialect.js';
import { type MetricsTable, pruneMetrics, readMetrics, recordMetrics } from './queries/metrics.js';
import { retryLocks } from './retry-locks.js';

/**
 * The per-minute rollup in a database table (`job_metrics`, migration 0013) beside the queue's
 * jobs: a flush is one upsert that adds, so workers never read before they write.
 */
export class DatabaseMetricsRepository implements MetricsRepository {
  private readonly metrics: MetricsTable;

  constructor(
    knex: Knex,
    readonly table: string,
    private readonly connectionName: string,
    private readonly config: ResolvedDatabaseConnection,
  ) {
    this.metrics = { knex, engine: dialect.engineOf(config.client), table };
  }

  async close(): Promise<void> {
    // The knex pool is the queue's: closing the queue closes it.
  }

  prune(before: number): Promise<number> {
    return this.run(() => retryLocks(() => pruneMetrics(this.metrics, before)));
  }

  read(query: MetricsQuery): Promise<JobMetricsSample[]> {
    return this.run(() => readMetrics(this.metrics, query));
  }

  async record(samples: readonly JobMetricsSample[]): Promise<void> {
    if (samples.length === 0) return;
    // Two workers adding to the same new rows can deadlock on InnoDB's gap locks: tried again.
    await this.run(() => retryLocks(() => recordMetrics(this.metrics, samples)));
  }

  private async run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw describeDatabaseError(error, this.connectionName, this.config, this.table);
    }
  }
}
