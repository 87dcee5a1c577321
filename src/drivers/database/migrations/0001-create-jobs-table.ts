import type { Knex } from 'knex';

import type { TableMigration } from './table-migration.js';

/**
 * Laravel's `jobs` columns plus what reliability needs: `reserved_by` (the lease token every
 * finishing write matches) and `exceptions` (the count `maxExceptions` reads). Times are unix
 * seconds from the database clock, in bigints so they outlive 2038.
 */
export const createJobsTable: TableMigration = {
  name: '0001_create_jobs_table',
  async up(knex: Knex, table: string) {
    await knex.schema.createTable(table, (t) => {
      t.bigIncrements('id');
      t.string('queue', 255).notNullable();
      t.text('payload', 'longtext').notNullable();
      t.integer('attempts').unsigned().notNullable().defaultTo(0);
      t.integer('exceptions').unsigned().notNullable().defaultTo(0);
      t.bigInteger('reserved_at').unsigned().nullable();
      t.string('reserved_by', 64).nullable();
      t.bigInteger('available_at').unsigned().notNullable();
      t.bigInteger('created_at').unsigned().notNullable();
      t.index(['queue', 'available_at'], `${table}_queue_available_at_index`);
    });
  },
  async down(knex: Knex, table: string) {
    await knex.schema.dropTableIfExists(table);
  },
};
