import type { Knex } from 'knex';

import { dialect } from '../dialect.js';
import type { TableMigration } from './table-migration.js';

/** The column this step adds (written out, not imported, so the released step never changes). */
const JOB = 'job';

/**
 * failed_jobs gets `job`, the failed job's display name (the payload's `displayName`), so the
 * dashboard lists and counts failures by job class from an index instead of reading every
 * payload (decision 0062). Existing rows are filled from their payloads with the engine's JSON
 * function (dialect.jsonTextSql; '' when the payload holds no name). The index
 * (connection, queue, job, id) serves every combination of the three filters, newest first, and
 * the loose walks that find which combinations exist; a second index (job, id) serves a job
 * name without a queue, which MySQL/MariaDB (no skip scan) would otherwise read through every
 * queue's range or the primary key (decision 0072). On MySQL/MariaDB the column compares
 * exactly, as the other identifiers do (0010), before the index is built.
 */
export const failedJobsJobColumn: TableMigration = {
  name: '0012_failed_jobs_job_column',
  async up(knex: Knex, table: string) {
    const engine = dialect.engineOfKnex(knex) ?? 'sqlite';
    await knex.schema.alterTable(table, (t) => t.string(JOB, 255).notNullable().defaultTo(''));
    await dialect.exactIdentifierColumns(knex, table, [JOB]);
    // Rows inserted without the column (by another program, or an older errand) still go in.
    const restore = dialect.restoreEmptyDefaultSql(engine);
    if (restore) await knex.raw(restore, [table, JOB]);
    const name = dialect.jsonTextSql(engine, 'payload', 'displayName');
    await knex(table).update({ [JOB]: knex.raw(`coalesce(substr(${name}, 1, 255), '')`) });
    await knex.schema.alterTable(table, (t) =>
      t.index(['connection', 'queue', JOB, 'id'], `${table}_connection_queue_job_id_index`),
    );
    await knex.schema.alterTable(table, (t) => t.index([JOB, 'id'], `${table}_job_id_index`));
  },
  async down(knex: Knex, table: string) {
    await knex.schema.alterTable(table, (t) => {
      t.dropIndex([JOB, 'id'], `${table}_job_id_index`);
      t.dropIndex(['connection', 'queue', JOB, 'id'], `${table}_connection_queue_job_id_index`);
      t.dropColumn(JOB);
    });
  },
};
