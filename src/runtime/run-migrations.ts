import { describeDatabaseError } from '../drivers/database/database-error.js';
import { migrate } from '../drivers/database/migrations/migrate.js';
import { ConfigError } from '../errors/config-error.js';
import { runtime } from './current.js';

/** What `runMigrations` did on one connection. */
export interface MigrationReport {
  connection: string;
  /** The steps that ran now (empty when already up to date). */
  ran: string[];
}

/**
 * Creates or updates errand's tables (jobs, failed_jobs, workers, controls, locks, rate_limits, job_batches) on every database connection, or on
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
    const queue = app.queues.database(name);
    const failedTable = failed.driver === 'database' && failed.connection === name ? failed.table : undefined;
    try {
      const { workersTable, controlsTable } = queue.config;
      const locksTable = locks?.connection === name ? locks.table : undefined;
      const tables = {
        jobs: [queue.table],
        failed: failedTable,
        workers: [workersTable],
        controls: [controlsTable],
        locks: locksTable,
        batches: batching?.connection === name ? batching.table : undefined,
      };
      const rateLimitsTable = rateLimits?.connection === name ? rateLimits.table : undefined;
      reports.push({ connection: name, ran: await migrate(queue.knex, { ...tables, rateLimits: rateLimitsTable }) });
    } catch (error) {
      throw describeDatabaseError(error, name, queue.config, queue.table);
    }
  }
  if (connection === undefined && names.length === 0) {
    throw new ConfigError('No database queue connection is configured, so there is nothing to migrate.');
  }
  return reports;
}
