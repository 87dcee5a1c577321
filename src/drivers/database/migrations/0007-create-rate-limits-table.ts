import type { Knex } from 'knex';

import type { DatabaseClient } from '../../../config/config-types.js';
import { dialect } from '../dialect.js';
import type { TableMigration } from './table-migration.js';

/**
 * The counters of `RateLimited` and `ThrottlesExceptions` (Laravel keeps them in its cache). One
 * row per key: `hits` in the window that ends at `reset_at` (database clock, unix seconds; migration 0011 makes it `reset_at_ms`, in milliseconds). The
 * key is the primary key, so a hit is one upsert, and compares byte for byte on every engine
 * (`by('Ann')` and `by('ann')` are two counters). `reset_at` is indexed for pruning ended windows.
 */
export const createRateLimitsTable: TableMigration = {
  name: '0007_create_rate_limits_table',
  async up(knex: Knex, table: string) {
    const exact = dialect.exactKeyColumn(dialect.engineOf(knex.client.config.client as DatabaseClient), 255);
    await knex.schema.createTable(table, (t) => {
      (exact ? t.specificType('key', exact) : t.string('key', 255)).primary();
      t.integer('hits').notNullable();
      t.bigInteger('reset_at').notNullable();
      t.index(['reset_at'], `${table}_reset_at_index`);
    });
  },
  async down(knex: Knex, table: string) {
    await knex.schema.dropTableIfExists(table);
  },
};
