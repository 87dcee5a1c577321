import type { Knex } from 'knex';

import type { TableMigration } from './table-migration.js';

/** Laravel's `failed_jobs`: the uuid is unique, so a failure is recorded once however often it is logged. */
export const createFailedJobsTable: TableMigration = {
  name: '0002_create_failed_jobs_table',
  async up(knex: Knex, table: string) {
    await knex.schema.createTable(table, (t) => {
      t.bigIncrements('id');
      t.string('uuid', 36).notNullable().unique(`${table}_uuid_unique`);
      t.string('connection', 255).notNullable();
      t.string('queue', 255).notNullable();
      t.text('payload', 'longtext').notNullable();
      t.text('exception', 'longtext').notNullable();
      t.timestamp('failed_at').notNullable().defaultTo(knex.fn.now());
      t.index(['connection', 'queue', 'failed_at'], `${table}_connection_queue_failed_at_index`);
    });
  },
  async down(knex: Knex, table: string) {
    await knex.schema.dropTableIfExists(table);
  },
};
