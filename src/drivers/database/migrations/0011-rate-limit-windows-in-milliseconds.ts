import type { Knex } from 'knex';

import type { TableMigration } from './table-migration.js';

/** 0007's column, in unix seconds. */
const OLD_RESET_AT = 'reset_at';
/** The column this step leaves (written out, not imported, so the released step never changes). */
const RESET_AT = 'reset_at_ms';

/**
 * Below this a stored end is in seconds (it is the year 5138 as seconds, 1973 as milliseconds):
 * lets the conversion run twice harmlessly, should MySQL/MariaDB (whose DDL does not roll back)
 * stop between the rename and the update.
 */
const SECONDS_BELOW = 100_000_000_000;

/**
 * Rate-limit windows end to the millisecond (decision 0042): 0007's `reset_at`, in whole
 * seconds, made a window end at the next clock second after its end, up to a second early. The
 * column is renamed to `reset_at_ms`, so a worker of an older version fails loudly on it instead
 * of reading milliseconds as seconds (a window lasting 1000 times too long), and open windows are
 * carried over in milliseconds. The index keeps its name.
 */
export const rateLimitWindowsInMilliseconds: TableMigration = {
  name: '0011_rate_limit_windows_in_milliseconds',
  async up(knex: Knex, table: string) {
    if (await knex.schema.hasColumn(table, OLD_RESET_AT)) {
      await knex.schema.alterTable(table, (t) => t.renameColumn(OLD_RESET_AT, RESET_AT));
    }
    await knex(table)
      .where(RESET_AT, '<', SECONDS_BELOW)
      .update({ [RESET_AT]: knex.raw('?? * 1000', [RESET_AT]) });
  },
  async down(knex: Knex, table: string) {
    // Rounded up, so a window carried back is never shorter; an exact multiple divides to a whole
    // number on every engine (MySQL's `/` is not integer division).
    await knex(table)
      .where(RESET_AT, '>=', SECONDS_BELOW)
      .update({ [RESET_AT]: knex.raw('(?? + 999 - (?? + 999) % 1000) / 1000', [RESET_AT, RESET_AT]) });
    await knex.schema.alterTable(table, (t) => t.renameColumn(RESET_AT, OLD_RESET_AT));
  },
};
