import type { Knex } from 'knex';

import type { TableMigration } from './table-migration.js';

/**
 * Lease renewal and the dead-worker sweep look jobs up by their holder; without this index each
 * heartbeat would scan the whole jobs table.
 */
export const indexJobsReservedBy: TableMigration = {
  name: '0005_index_jobs_reserved_by',
  async up(knex: Knex, table: string) {
    await knex.schema.alterTable(table, (t) => t.index(['reserved_by'], `${table}_reserved_by_index`));
  },
  async down(knex: Knex, table: string) {
    await knex.schema.alterTable(table, (t) => t.dropIndex(['reserved_by'], `${table}_reserved_by_index`));
  },
};
