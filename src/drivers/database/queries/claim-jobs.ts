import type { Knex } from 'knex';

import type { ReservedJob } from '../../../contracts/reserved-job.js';
import { dialect, type ServerInfo } from '../dialect.js';

interface ClaimRow {
  id: number | string;
  queue: string;
  payload: string;
  attempts: number | string;
  exceptions: number | string;
}

/** The claim's parameters. */
export interface ClaimInput {
  table: string;
  queue: string;
  limit: number;
  leaseToken: string;
  retryAfter: number;
}

// Available: never reserved and due, or reserved so long ago (retryAfter) that its worker is
// presumed dead. Oldest due first; a released job is due later, so it goes to the back.
// Bindings: table, queue, retryAfter.
function candidates(now: string): string {
  return `from ?? where queue = ? and ((reserved_at is null and available_at <= ${now}) or reserved_at <= ${now} - ?)
    order by available_at, id`;
}

/**
 * Claims up to `limit` jobs of one queue in one short transaction (or one statement), counting
 * the attempt and stamping the lease token. No transaction stays open while jobs run.
 */
export async function claimJobs(knex: Knex, info: ServerInfo, input: ClaimInput): Promise<ReservedJob[]> {
  const now = dialect.nowSql(info.engine);
  const { table, queue, limit, leaseToken, retryAfter } = input;
  let rows: ClaimRow[];
  if (dialect.claimStyle(info.engine) === 'select-then-update') {
    rows = await knex.transaction(async (trx) => {
      // Bindings: table, queue, retryAfter, limit.
      const found = dialect.rows<ClaimRow>(
        info.engine,
        await trx.raw(
          `select id, queue, payload, attempts, exceptions ${candidates(now)} limit ? ${dialect.lockClause(info)}`,
          [table, queue, retryAfter, limit],
        ),
      );
      if (found.length === 0) return [];
      const ids = found.map((row) => row.id);
      // Bindings: table, leaseToken, ids…
      await trx.raw(
        `update ?? set reserved_at = ${now}, reserved_by = ?, attempts = attempts + 1 where id in (${ids.map(() => '?').join(',')})`,
        [table, leaseToken, ...ids],
      );
      return found.map((row) => ({ ...row, attempts: Number(row.attempts) + 1 }));
    });
  } else if (info.engine === 'postgres') {
    // Bindings: table, queue, retryAfter, limit, table, leaseToken.
    const result = await knex.raw(
      `with next as (select id ${candidates(now)} limit ? ${dialect.lockClause(info)})
       update ?? as j set reserved_at = ${now}, reserved_by = ?, attempts = j.attempts + 1
       from next where j.id = next.id
       returning j.id, j.queue, j.payload, j.attempts, j.exceptions`,
      [table, queue, retryAfter, limit, table, leaseToken],
    );
    rows = dialect.rows<ClaimRow>(info.engine, result);
  } else {
    // SQLite: one statement is atomic under its single writer. Bindings: table, leaseToken,
    // table, queue, retryAfter, limit.
    const result = await knex.raw(
      `update ?? set reserved_at = ${now}, reserved_by = ?, attempts = attempts + 1
       where id in (select id ${candidates(now)} limit ?)
       returning id, queue, payload, attempts, exceptions`,
      [table, leaseToken, table, queue, retryAfter, limit],
    );
    rows = dialect.rows<ClaimRow>(info.engine, result);
  }
  return rows
    .map((row) => ({
      id: String(row.id),
      queue: row.queue,
      payload: row.payload,
      attempts: Number(row.attempts),
      exceptions: Number(row.exceptions),
      reservedBy: leaseToken,
    }))
    .sort((a, b) => compareIds(a.id, b.id));
}

function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
