import type { Knex } from 'knex';

import type { DatabaseClient } from '../../../config/config-types.js';
import { dialect } from '../dialect.js';
import type { TableMigration } from './table-migration.js';

/**
 * The locks unique jobs and `WithoutOverlapping` hold (Laravel keeps them in its cache's
 * `cache_locks`; errand needs no cache server). The key is the primary key, so taking a free lock
 * is one INSERT that only one caller can win; it compares byte for byte on every engine.
 * `expires_at` (database clock, unix seconds) is null for a lock that never expires.
 */
export const createLocksTable: TableMigration = {
  name: '0006_create_locks_table',
  async up(knex: Knex, table: string) {
    const exact = dialect.exactKeyColumn(dialect.engineOf(knex.client.config.client as DatabaseClient), 255);
    await knex.schema.createTable(table, (t) => {
      (exact ? t.specificType('key', exact) : t.string('key', 255)).primary();
      t.string('owner', 255).notNullable();
      t.bigInteger('expires_at').nullable();
    });
  },
  async down(knex: Knex, table: string) {
    await knex.schema.dropTableIfExists(table);
  },
};
