import type { Knex } from 'knex';

import { dialect } from '../dialect.js';
import type { TableMigration } from './table-migration.js';

/**
 * Identifiers compare exactly on every engine: queue names, uuids, connection names, lease
 * tokens, control and lock keys, batch ids. MySQL and MariaDB compared them by the database's
 * default collation, which ignores case, accents and trailing spaces, so a worker of `MAIL` took
 * `mail` jobs and `queue:clear --queue=news` deleted `NEWS`. This converts the columns of tables
 * made by 0001–0008 (see dialect.exactIdentifierColumns); elsewhere it does nothing. The locks'
 * and rate limits' keys were binary from the start.
 */
function exactIdentifiers(kind: string, columns: readonly string[]): TableMigration {
  return {
    name: `0010_exact_identifiers_${kind}`,
    async up(knex: Knex, table: string) {
      await dialect.exactIdentifierColumns(knex, table, columns);
    },
    async down(knex: Knex, table: string) {
      await dialect.exactIdentifierColumns(knex, table, columns, false);
    },
  };
}

/** The jobs table: the queue and the lease token. */
export const exactJobsIdentifiers = exactIdentifiers('jobs', ['queue', 'reserved_by']);
/** failed_jobs: the uuid `queue:retry`/`queue:forget` look up, and the connection and queue `--queue` selects by. */
export const exactFailedJobsIdentifiers = exactIdentifiers('failed_jobs', ['uuid', 'connection', 'queue']);
/** The workers table: the worker's id, name and connection. */
export const exactWorkersIdentifiers = exactIdentifiers('workers', ['id', 'name', 'connection']);
/** The controls table: `restart` and `pause:<connection>:<queue>` keys. */
export const exactControlsIdentifiers = exactIdentifiers('controls', ['key']);
/** The locks table: its owner (the key is binary since 0006). */
export const exactLocksIdentifiers = exactIdentifiers('locks', ['key', 'owner']);
/** The rate limits table: its key (binary since 0007; listed so an edited table is caught too). */
export const exactRateLimitsIdentifiers = exactIdentifiers('rate_limits', ['key']);
/** job_batches: the batch id. */
export const exactBatchesIdentifiers = exactIdentifiers('job_batches', ['id']);
