import { migrateStore } from '../drivers/connect.js';
import { ConfigError } from '../errors/config-error.js';
import { runtime } from './current.js';

/** What `runMigrations` did on one connection. */
export interface MigrationReport {
  connection: string;
  /** The steps that ran now (empty when already up to date). */
  ran: string[];
}

/**
 * Creates or updates errand's tables (jobs, failed_jobs, workers, controls, locks, rate_limits, job_batches, job_metrics) on every database connection, or on
 * the one named; what `errand migrate` runs.
 */
export async function runMigrations(connection?: string): Promise<MigrationReport[]> {
  const app = await runtime();
  const { connections, failed, locks, batching, rateLimits } = app.config;
  const names =
    connection === undefined
      ? Object.keys(connections).filter((n) => connections[n]!.driver === 'database')
      : [connection];
  const reports: MigrationReport[] = [];
  for (const name of names) {
    const queue = app.queues.worker(name);
    const ran = await migrateStore(queue, {
      failed: failed.driver === 'database' && failed.connection === name ? failed.table : undefined,
      locks: locks?.connection === name ? locks.table : undefined,
      batches: batching?.connection === name ? batching.table : undefined,
      rateLimits: rateLimits?.connection === name ? rateLimits.table : undefined,
      metrics: app.config.metrics.table,
    });
    reports.push({ connection: name, ran });
  }
  if (connection === undefined && names.length === 0) {
    throw new ConfigError('No database queue connection is configured, so there is nothing to migrate.');
  }
  return reports;
}
