import type { Knex } from 'knex';

import { createJobsTable } from './0001-create-jobs-table.js';
import { createFailedJobsTable } from './0002-create-failed-jobs-table.js';
import { createWorkersTable } from './0003-create-workers-table.js';
import { createControlsTable } from './0004-create-controls-table.js';
import { indexJobsReservedBy } from './0005-index-jobs-reserved-by.js';
import { createLocksTable } from './0006-create-locks-table.js';
import { createRateLimitsTable } from './0007-create-rate-limits-table.js';
import { createJobBatchesTable } from './0008-create-job-batches-table.js';
import { indexJobsForClaims } from './0009-index-jobs-for-claims.js';
import {
  exactBatchesIdentifiers,
  exactControlsIdentifiers,
  exactFailedJobsIdentifiers,
  exactJobsIdentifiers,
  exactLocksIdentifiers,
  exactRateLimitsIdentifiers,
  exactWorkersIdentifiers,
} from './0010-exact-identifiers.js';
import { rateLimitWindowsInMilliseconds } from './0011-rate-limit-windows-in-milliseconds.js';
import { failedJobsJobColumn } from './0012-failed-jobs-job-column.js';
import { createJobMetricsTable } from './0013-create-job-metrics-table.js';
import { createJobMetricsHoursTable } from './0014-create-job-metrics-hours-table.js';
import type { TableMigration } from './table-migration.js';

/** The table that records which migrations ran, per database. */
export const MIGRATIONS_TABLE = 'errand_migrations';

/** Which of errand's tables live in one database, by their configured names. */
export interface TablesToMigrate {
  jobs?: string[];
  failed?: string;
  workers?: string[];
  controls?: string[];
  /** The `job_batches` table of `Bus.batch`. */
  batches?: string;
  /** The locks table of unique jobs and WithoutOverlapping. */
  locks?: string;
  /** The counters of RateLimited and ThrottlesExceptions. */
  rateLimits?: string;
  /** The per-minute rollup of the workers on this database's queue connections (`metrics`), and its hourly `<table>_hours`. */
  metrics?: string[];
}

interface Step {
  name: string;
  migration: TableMigration;
  table: string;
}

/**
 * Brings errand's tables in one database up to date. Each step is recorded with its table name,
 * so two queue connections with different tables in one database each get theirs. knex's
 * migrator takes a lock, so concurrent `errand migrate` runs on deploy are safe.
 */
export async function migrate(knex: Knex, tables: TablesToMigrate): Promise<string[]> {
  const steps: Step[] = [];
  for (const table of new Set(tables.jobs ?? [])) {
    steps.push(
      step(createJobsTable, table),
      step(indexJobsReservedBy, table),
      step(indexJobsForClaims, table),
      step(exactJobsIdentifiers, table),
    );
  }
  if (tables.failed)
    steps.push(
      step(createFailedJobsTable, tables.failed),
      step(exactFailedJobsIdentifiers, tables.failed),
      step(failedJobsJobColumn, tables.failed),
    );
  for (const table of new Set(tables.workers ?? []))
    steps.push(step(createWorkersTable, table), step(exactWorkersIdentifiers, table));
  for (const table of new Set(tables.controls ?? []))
    steps.push(step(createControlsTable, table), step(exactControlsIdentifiers, table));
  if (tables.locks) steps.push(step(createLocksTable, tables.locks), step(exactLocksIdentifiers, tables.locks));
  if (tables.rateLimits)
    steps.push(
      step(createRateLimitsTable, tables.rateLimits),
      step(exactRateLimitsIdentifiers, tables.rateLimits),
      step(rateLimitWindowsInMilliseconds, tables.rateLimits),
    );
  if (tables.batches)
    steps.push(step(createJobBatchesTable, tables.batches), step(exactBatchesIdentifiers, tables.batches));
  for (const table of new Set(tables.metrics ?? []))
    steps.push(step(createJobMetricsTable, table), step(createJobMetricsHoursTable, table));
  steps.sort((a, b) => a.name.localeCompare(b.name));
  const source: Knex.MigrationSource<Step> = {
    getMigrations: async () => steps,
    getMigrationName: (s) => s.name,
    getMigration: async (s) => ({
      up: (k: Knex) => s.migration.up(k, s.table),
      down: (k: Knex) => s.migration.down(k, s.table),
    }),
  };
  const [, ran] = (await knex.migrate.latest({
    migrationSource: source,
    tableName: MIGRATIONS_TABLE,
    disableMigrationsListValidation: true,
  })) as [number, string[]];
  return ran;
}

function step(migration: TableMigration, table: string): Step {
  return { name: `${migration.name} (${table})`, migration, table };
}
