import type { Knex } from 'knex';

import type { ReservedJob } from '../../../contracts/reserved-job.js';
import { MAX_COUNT, MAX_SECONDS } from '../../../runtime/numeric-bounds.js';
import { dialect, type Engine, type ServerInfo } from '../dialect.js';

/** Deletes a job by primary key if the lease still matches; false when it did not. */
export async function deleteReservedJob(knex: Knex, engine: Engine, table: string, job: ReservedJob): Promise<boolean> {
  // Bindings: table, id, leaseToken, attempts.
  const result = await knex.raw('delete from ?? where id = ? and reserved_by = ? and attempts = ?', [
    table,
    job.id,
    job.reservedBy,
    job.attempts,
  ]);
  return dialect.affected(engine, result) > 0;
}

/**
 * Deletes many finished jobs of one holder in one statement; resolves to the ids that were still
 * held (the others were reclaimed elsewhere and are left alone).
 */
export async function deleteReservedJobs(
  knex: Knex,
  info: ServerInfo,
  table: string,
  leaseToken: string,
  jobs: readonly ReservedJob[],
): Promise<Set<string>> {
  if (jobs.length === 0) return new Set();
  const { engine } = info;
  const { sql, bindings } = dialect.fenceSql(engine, jobs);
  if (!info.deleteReturning) {
    // MySQL has no DELETE … RETURNING: when the count is short, ask which rows are still ours first.
    return knex.transaction(async (trx) => {
      const held = await heldIds(trx, engine, table, leaseToken, sql, bindings, true);
      if (held.size > 0) {
        const mine = jobs.filter((job) => held.has(job.id));
        const f = dialect.fenceSql(engine, mine);
        await trx.raw(`delete from ?? where reserved_by = ? and (${f.sql})`, [table, leaseToken, ...f.bindings]);
      }
      return held;
    });
  }
  // One statement, no transaction: a handler that wedges the event loop can never do it between
  // two statements and leave the rows locked for the watchdog's own writes. Bindings: table, leaseToken, fence.
  const result = await knex.raw(`delete from ?? where reserved_by = ? and (${sql}) returning id`, [
    table,
    leaseToken,
    ...bindings,
  ]);
  return new Set(dialect.rows<{ id: number | string }>(engine, result).map((row) => String(row.id)));
}

async function heldIds(
  knex: Knex,
  engine: Engine,
  table: string,
  leaseToken: string,
  fenceSql: string,
  bindings: Array<string | number>,
  lock: boolean,
): Promise<Set<string>> {
  const result = await knex.raw(
    `select id from ?? where reserved_by = ? and (${fenceSql})${lock ? ' for update' : ''}`,
    [table, leaseToken, ...bindings],
  );
  return new Set(dialect.rows<{ id: number | string }>(engine, result).map((row) => String(row.id)));
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
  // The exception count saturates at the column's maximum rather than overflow it (a row at the
  // maximum could never be released): it is only compared with maxExceptions, itself bounded by
  // it. Delays are bounded where they enter (decode, dispatch, release()); capped here as well,
  // so no caller can write an available_at the column cannot hold.
  const delay = Math.min(Math.max(0, Math.ceil(delaySeconds)), MAX_SECONDS);
  // Bindings: table, delay, exceptions, id, leaseToken, attempts.
  const result = await knex.raw(
    `update ?? set reserved_at = null, reserved_by = null, available_at = ${now} + ?, exceptions = ?
     where id = ? and reserved_by = ? and attempts = ?`,
    [table, delay, Math.min(exceptions, MAX_COUNT), job.id, job.reservedBy, job.attempts],
  );
  return dialect.affected(engine, result) > 0;
}

/**
 * Hands back jobs this worker claimed but will not run (its prefetch buffer at shutdown, or the
 * bystanders of a watchdog exit): unreserved, and the attempt the claim counted is given back.
 * `delaySeconds` keeps them out of reach until the process is surely gone.
 */
export async function unclaimJobs(
  knex: Knex,
  engine: Engine,
  table: string,
  leaseToken: string,
  jobs: readonly ReservedJob[],
  delaySeconds = 0,
): Promise<number> {
  if (jobs.length === 0) return 0;
  const now = dialect.nowSql(engine);
  const { sql, bindings } = dialect.fenceSql(engine, jobs);
  // Bindings: table, delaySeconds, leaseToken, fence.
  const result = await knex.raw(
    `update ?? set reserved_at = null, reserved_by = null, attempts = attempts - 1, available_at = ${now} + ?
     where reserved_by = ? and (${sql})`,
    [table, delaySeconds, leaseToken, ...bindings],
  );
  return dialect.affected(engine, result);
}
