import type { Knex } from 'knex';

import { dialect } from '../dialect.js';
import type { TableMigration } from './table-migration.js';

/**
 * The claim reads `queue = ? and reserved_at is null and available_at <= now order by
 * available_at, id`. With these indexes every engine walks straight to the ready rows in order
 * and stops after the ones it takes, so claim cost stays flat however many delayed or reserved
 * rows the table holds (with the old (queue, available_at) index PostgreSQL sorted the whole
 * table for every claim). They also serve the expired-reservation check and the per-queue
 * counts, so the old index goes. The engines differ (see dialect.claimIndexes).
 */
export const indexJobsForClaims: TableMigration = {
  name: '0009_index_jobs_for_claims',
  async up(knex: Knex, table: string) {
    const indexes = dialect.claimIndexes(dialect.engineOfKnex(knex) ?? 'sqlite');
    await knex.schema.alterTable(table, (t) => {
      for (const { suffix, columns, where } of indexes) {
        const predicate =
          where === undefined
            ? undefined
            : where === 'reserved_at is null'
              ? knex.whereNull('reserved_at')
              : knex.whereNotNull('reserved_at');
        t.index(columns, `${table}_${suffix}`, predicate ? { predicate } : undefined);
      }
      t.dropIndex(['queue', 'available_at'], `${table}_queue_available_at_index`);
    });
  },
  async down(knex: Knex, table: string) {
    const indexes = dialect.claimIndexes(dialect.engineOfKnex(knex) ?? 'sqlite');
    await knex.schema.alterTable(table, (t) => {
      t.index(['queue', 'available_at'], `${table}_queue_available_at_index`);
      for (const { suffix, columns } of indexes) t.dropIndex(columns, `${table}_${suffix}`);
    });
  },
};
