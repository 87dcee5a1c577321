import type { Knex } from 'knex';

import { dialect } from '../dialect.js';
import type { TableMigration } from './table-migration.js';

/** As in 0013: METRICS_BUCKETS_MS's 16 bounds and one above them, written out. */
const BUCKETS = 17;

/**
 * The rollup's hourly tier, `<table>_hours` beside the per-minute `<table>` (decision 0072): the
 * same counters and histogram columns, one row per hour (unix seconds, a multiple of 3600), queue
 * and job, added to by the same flush that adds to the minute rows. A read whose step is an hour
 * or more sums some 170 rows per queue and job over 7 days instead of some 10,000.
 */
export const createJobMetricsHoursTable: TableMigration = {
  name: '0014_create_job_metrics_hours_table',
  async up(knex: Knex, table: string) {
    const hours = `${table}_hours`;
    await knex.schema.createTable(hours, (t) => {
      t.bigInteger('hour').notNullable();
      t.string('queue', 255).notNullable();
      t.string('job', 255).notNullable();
      for (const column of ['completed', 'failed', 'released', 'runtime_ms_sum', 'wait_ms_sum'])
        t.bigInteger(column).notNullable().defaultTo(0);
      for (const measure of ['runtime', 'wait'])
        for (let i = 0; i < BUCKETS; i++) t.bigInteger(`${measure}_${i}`).notNullable().defaultTo(0);
      t.primary(['hour', 'queue', 'job'], `${hours}_primary`);
    });
    await dialect.exactIdentifierColumns(knex, hours, ['queue', 'job']);
  },
  async down(knex: Knex, table: string) {
    await knex.schema.dropTableIfExists(`${table}_hours`);
  },
};
