import type { Knex } from 'knex';

import type { TableMigration } from './table-migration.js';

/**
 * Operator switches that every worker polls: `restart` (a counter `queue:restart` bumps) and
 * `pause:<connection>:<queue>` rows. Kept in the queue's own database so no cache server is needed.
 */
export const createControlsTable: TableMigration = {
  name: '0004_create_controls_table',
  async up(knex: Knex, table: string) {
    await knex.schema.createTable(table, (t) => {
      t.string('key', 255).primary();
      t.bigInteger('value').notNullable();
      t.bigInteger('updated_at').notNullable();
    });
  },
  async down(knex: Knex, table: string) {
    await knex.schema.dropTableIfExists(table);
  },
};
