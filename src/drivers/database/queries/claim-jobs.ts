import type { Knex } from 'knex';

import type { ReservedJob } from '../../../contracts/reserved-job.js';
import { MAX_COUNT } from '../../../runtime/numeric-bounds.js';
import { dialect, type Engine, type ServerInfo } from '../dialect.js';

interface ClaimRow {
  id: number | string;
  queue: string;
  payload: string;
  attempts: number | string;
  exceptions: number | string;
  /** Seconds from available_at to the claim, on the database clock (a claim's rows only). */
  waited?: number | string;
}

/**
 * The highest attempt count a claim writes: MAX_COUNT. A row inserted by hand with `attempts` at the
 * column's maximum (2^31 − 1 on PostgreSQL, 2^32 − 1 on MariaDB) made `attempts + 1` overflow,
 * failing every claim of its queue for good; past 2^53 (SQLite's column goes to 2^63 − 1) the
 * count read back into JavaScript no longer matched the row, so the job's fenced writes all
 * missed. The count stops here instead, a value every engine's column and a JavaScript number
 * hold exactly, far beyond any `tries`: the job is claimed and failed as attempted too many times.
 */
const MAX_ATTEMPTS_COUNT = MAX_COUNT;

/** The claim's new attempt count for the `attempts` column `column`: one more, up to MAX_ATTEMPTS_COUNT. */
function nextAttemptSql(column: string): string {
  return `case when ${column} < ${MAX_ATTEMPTS_COUNT} then ${column} + 1 else ${MAX_ATTEMPTS_COUNT} end`;
}

/** The claim's parameters. */
export interface ClaimInput {
  table: string;
  queue: string;
  limit: number;
  leaseToken: string;
}

// Available: not reserved and due. Oldest due first; a released job is due later, so it goes to
// the back. The claim index (queue, reserved_at, available_at, id) serves both the filter and the
// order, so the claim reads only the rows it takes, however many delayed or reserved rows the
// table holds. Reservations so old that their worker is presumed dead are put back by
// releaseExpiredReservations, not matched here: an OR here would force a scan of the table.
// Bindings: table, queue.
function candidates(now: string): string {
  return `from ?? where queue = ? and reserved_at is null and available_at <= ${now}
    order by available_at, id`;
}

/**
 * Makes jobs whose reservation is older than `retryAfter` seconds claimable again (their worker
 * is presumed dead), keeping the attempt their claim counted, as Laravel's claim does when it
 * takes an expired reservation. Resolves to how many came back.
 */
export async function releaseExpiredReservations(
  knex: Knex,
  engine: Engine,
  table: string,
  queue: string,
  retryAfter: number,
): Promise<number> {
  const now = dialect.nowSql(engine);
  // A plain read first: almost always it finds nothing, and it takes no locks. An UPDATE over
  // the range would lock the index gap on InnoDB and deadlock with concurrent claims.
  // Bindings: table, queue, retryAfter.
  const found = dialect.rows<{ id: number | string }>(
    engine,
    await knex.raw(`select id from ?? where queue = ? and reserved_at <= ${now} - ? limit 500`, [
      table,
      queue,
      retryAfter,
    ]),
  );
  if (found.length === 0) return 0;
  // By primary key, the expiry checked again: a row renewed or finished meanwhile is left alone.
  // Bindings: table, ids…, retryAfter.
  const result = await knex.raw(
    `update ?? set reserved_at = null, reserved_by = null where id in (${found.map(() => '?').join(',')}) and reserved_at <= ${now} - ?`,
    [table, ...found.map((row) => row.id), retryAfter],
  );
  return dialect.affected(engine, result);
}

/**
 * Claims up to `limit` jobs of one queue in one short transaction (or one statement), counting
 * the attempt and stamping the lease token. No transaction stays open while jobs run.
 */
export async function claimJobs(knex: Knex, info: ServerInfo, input: ClaimInput): Promise<ReservedJob[]> {
  const now = dialect.nowSql(info.engine);
  const { table, queue, limit, leaseToken } = input;
  let rows: ClaimRow[];
  const style = dialect.claimStyle(info.engine);
  if (style === 'select-then-update') {
    rows = await knex.transaction(async (trx) => {
      // Bindings: table, queue, limit.
      const found = dialect.rows<ClaimRow>(
        info.engine,
        await trx.raw(
          `select id, queue, payload, attempts, exceptions, ${now} - cast(available_at as signed) as waited ${candidates(dialect.claimNowSql(info.engine))} limit ? ${dialect.lockClause(info)}`,
          [table, queue, limit],
        ),
      );
      if (found.length === 0) return [];
      const ids = found.map((row) => row.id);
      // Bindings: table, leaseToken, ids…
      await trx.raw(
        `update ?? set reserved_at = ${now}, reserved_by = ?, attempts = ${nextAttemptSql('attempts')} where id in (${ids.map(() => '?').join(',')})`,
        [table, leaseToken, ...ids],
      );
      return found.map((row) => ({ ...row, attempts: Math.min(Number(row.attempts) + 1, MAX_ATTEMPTS_COUNT) }));
    });
  } else if (style === 'update-from-locked') {
    // Bindings: table, queue, limit, table, leaseToken.
    const result = await knex.raw(
      `with next as (select id ${candidates(dialect.claimNowSql(info.engine))} limit ? ${dialect.lockClause(info)})
       update ?? as j set reserved_at = ${now}, reserved_by = ?, attempts = ${nextAttemptSql('j.attempts')}
       from next where j.id = next.id
       returning j.id, j.queue, j.payload, j.attempts, j.exceptions, ${now} - j.available_at as waited`,
      [table, queue, limit, table, leaseToken],
    );
    rows = dialect.rows<ClaimRow>(info.engine, result);
  } else {
    // One statement, atomic under a single writer. Bindings: table, leaseToken, table, queue, limit.
    const result = await knex.raw(
      `update ?? set reserved_at = ${now}, reserved_by = ?, attempts = ${nextAttemptSql('attempts')}
       where id in (select id ${candidates(dialect.claimNowSql(info.engine))} limit ?)
       returning id, queue, payload, attempts, exceptions, ${now} - available_at as waited`,
      [table, leaseToken, table, queue, limit],
    );
    rows = dialect.rows<ClaimRow>(info.engine, result);
  }
  return rows.map((row) => reservedJob(row, leaseToken)).sort((a, b) => compareIds(a.id, b.id));
}

function reservedJob(row: ClaimRow, leaseToken: string): ReservedJob {
  return {
    id: String(row.id),
    queue: row.queue,
    payload: row.payload,
    attempts: Number(row.attempts),
    exceptions: Number(row.exceptions),
    reservedBy: leaseToken,
    waitMs: row.waited === undefined ? undefined : Math.max(0, Number(row.waited)) * 1000,
  };
}

function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The plan the engine chooses for the claim's candidate search (the part that must stay cheap
 * as the table grows), as text: `EXPLAIN` on MariaDB/MySQL, `EXPLAIN` on PostgreSQL, `EXPLAIN
 * QUERY PLAN` on SQLite. For `npm run bench` and for operators checking an index.
 */
export async function explainClaim(
  knex: Knex,
  info: ServerInfo,
  input: Pick<ClaimInput, 'table' | 'queue' | 'limit'>,
): Promise<string> {
  const sql = `select id ${candidates(dialect.claimNowSql(info.engine))} limit ?`;
  const bindings = [input.table, input.queue, input.limit];
  return dialect.planText(info.engine, await knex.raw(`${dialect.explainSql(info.engine)} ${sql}`, bindings));
}

/**
 * The rows of `ids` still reserved by `leaseToken`, payload included: the watchdog reads what it
 * needs to record a blamed job (its name, its tries, the payload for `failed_jobs`) only then.
 */
export async function findReservedJobs(
  knex: Knex,
  engine: Engine,
  table: string,
  leaseToken: string,
  ids: readonly string[],
): Promise<ReservedJob[]> {
  if (ids.length === 0) return [];
  const result = await knex.raw(
    `select id, queue, payload, attempts, exceptions from ?? where reserved_by = ? and id in (${ids.map(() => '?').join(',')})`,
    [table, leaseToken, ...ids],
  );
  return dialect.rows<ClaimRow>(engine, result).map((row) => reservedJob(row, leaseToken));
}
