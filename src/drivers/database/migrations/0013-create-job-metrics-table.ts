import type { Knex } from 'knex';

import { dialect } from '../dialect.js';
import type { TableMigration } from './table-migration.js';

/**
 * Histogram buckets per measure: METRICS_BUCKETS_MS's 16 bounds and one above them. Written out,
 * not imported, so this released step never changes.
 */
const BUCKETS = 17;

/**
 * The per-minute rollup workers add to (decision 0064): one row per minute (unix seconds, a
 * multiple of 60), queue and job name, whose counters only ever grow by an upsert that adds, so
 * any number of workers write the same row without reading it. The histograms are a column per
 * bucket (`runtime_0` … `runtime_16`, `wait_0` … `wait_16`) because SQL can add columns, not
 * arrays. The primary key leads with the minute: reading a range and pruning old minutes walk it.
 */
export const createJobMetricsTable: TableMigration = {
  name: '0013_create_job_metrics_table',
  async up(knex: Knex, table: string) {
    await knex.schema.createTable(table, (t) => {
      t.bigInteger('minute').notNullable();
      t.string('queue', 255).notNullable();
      t.string('job', 255).notNullable();
      for (const column of ['completed', 'failed', 'released', 'runtime_ms_sum', 'wait_ms_sum'])
        t.bigInteger(column).notNullable().defaultTo(0);
      for (const measure of ['runtime', 'wait'])
        for (let i = 0; i < BUCKETS; i++) t.bigInteger(`${measure}_${i}`).notNullable().defaultTo(0);
      t.primary(['minute', 'queue', 'job'], `${table}_primary`);
    });
    // Queue and job names compare exactly, as everywhere else (migration 0010).
    await dialect.exactIdentifierColumns(knex, table, ['queue', 'job']);
  },
  async down(knex: Knex, table: string) {
    await knex.schema.dropTableIfExists(table);
  },
};
