import type { Knex } from 'knex';

import type { TableMigration } from './table-migration.js';

/**
 * Laravel's `job_batches` columns (times in unix seconds from the database clock), plus
 * `callbacks_run`: a bit per callback kind (then, catch, finally), set by the one conditional
 * UPDATE that wins the right to run it, so each runs once however many workers finish jobs at
 * the same moment.
 */
export const createJobBatchesTable: TableMigration = {
  name: '0008_create_job_batches_table',
  async up(knex: Knex, table: string) {
    await knex.schema.createTable(table, (t) => {
      t.string('id', 36).primary();
      t.string('name', 255).notNullable();
      t.integer('total_jobs').notNullable();
      t.integer('pending_jobs').notNullable();
      t.integer('failed_jobs').notNullable();
      t.text('failed_job_ids', 'longtext').notNullable();
      t.text('options', 'mediumtext').nullable();
      t.bigInteger('cancelled_at').nullable();
      t.bigInteger('created_at').notNullable();
      t.bigInteger('finished_at').nullable();
      t.integer('callbacks_run').notNullable().defaultTo(0);
    });
  },
  async down(knex: Knex, table: string) {
    await knex.schema.dropTableIfExists(table);
  },
};
