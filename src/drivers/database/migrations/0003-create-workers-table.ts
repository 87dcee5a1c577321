import type { Knex } from 'knex';

import type { TableMigration } from './table-migration.js';

/**
 * One row per running worker process. `expires_at` (database clock, unix seconds) is pushed
 * forward on every heartbeat; once it has passed, any live worker may take the row's jobs back.
 */
export const createWorkersTable: TableMigration = {
  name: '0003_create_workers_table',
  async up(knex: Knex, table: string) {
    await knex.schema.createTable(table, (t) => {
      t.string('id', 64).primary();
      t.string('name', 255).notNullable();
      t.string('connection', 255).notNullable();
      t.text('queues').notNullable();
      t.string('hostname', 255).notNullable();
      t.integer('pid').notNullable();
      t.integer('concurrency').notNullable();
      t.bigInteger('started_at').notNullable();
      t.bigInteger('last_heartbeat_at').notNullable();
      t.bigInteger('expires_at').notNullable();
      t.index(['expires_at'], `${table}_expires_at_index`);
    });
  },
  async down(knex: Knex, table: string) {
    await knex.schema.dropTableIfExists(table);
  },
};
