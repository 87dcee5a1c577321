import type { Knex } from 'knex';

/** One append-only schema step, applied to a table whose name comes from the configuration. */
export interface TableMigration {
  /** Numbered; never renamed or edited once released. */
  readonly name: string;
  up(knex: Knex, table: string): Promise<void>;
  down(knex: Knex, table: string): Promise<void>;
}
