import type { Knex } from 'knex';

import type { ReservedJob } from '../../../contracts/reserved-job.js';
import { dialect, type Engine } from '../dialect.js';

/** Deletes a job by primary key if the lease still matches; false when it did not. */
export async function deleteReservedJob(knex: Knex, engine: Engine, table: string, job: ReservedJob): Promise<boolean> {
  // Bindings: table, id, leaseToken.
  const result = await knex.raw('delete from ?? where id = ? and reserved_by = ?', [table, job.id, job.reservedBy]);
  return dialect.affected(engine, result) > 0;
}

/**
 * Puts a job back: unreserved, available `delaySeconds` from now on the database clock, attempts
 * kept. The same row is reused; ordering by `available_at` sends it behind jobs already due.
 */
export async function releaseReservedJob(
  knex: Knex,
  engine: Engine,
  table: string,
  job: ReservedJob,
  delaySeconds: number,
  exceptions: number,
): Promise<boolean> {
  const now = dialect.nowSql(engine);
  // Bindings: table, delaySeconds, exceptions, id, leaseToken.
  const result = await knex.raw(
    `update ?? set reserved_at = null, reserved_by = null, available_at = ${now} + ?, exceptions = ?
     where id = ? and reserved_by = ?`,
    [table, Math.max(0, Math.ceil(delaySeconds)), exceptions, job.id, job.reservedBy],
  );
  return dialect.affected(engine, result) > 0;
}
