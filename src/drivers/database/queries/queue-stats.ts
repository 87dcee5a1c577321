import type { Knex } from 'knex';

import type { QueueStats } from '../../../contracts/worker-queue.js';
import { dialect, type Engine } from '../dialect.js';

/** Jobs on a queue, pending, delayed and reserved alike. */
export async function countJobs(knex: Knex, table: string, queue: string): Promise<number> {
  const [row] = (await knex(table).where({ queue }).count({ n: '*' })) as Array<{ n: number | string }>;
  return Number(row?.n ?? 0);
}

/** Deletes every job on a queue; resolves to how many. */
export async function clearJobs(knex: Knex, table: string, queue: string): Promise<number> {
  return Number(await knex(table).where({ queue }).delete());
}

/** One aggregate query over the queue, on the database clock. */
export async function queueStats(knex: Knex, engine: Engine, table: string, queue: string): Promise<QueueStats> {
  const now = dialect.nowSql(engine);
  // Bindings: table, queue.
  const result = await knex.raw(
    // (DELAYED is a reserved word in MySQL: the aliases carry a prefix.)
    `select count(*) as n_size,
       sum(case when reserved_at is null and available_at <= ${now} then 1 else 0 end) as n_pending,
       sum(case when reserved_at is null and available_at > ${now} then 1 else 0 end) as n_delayed,
       sum(case when reserved_at is not null then 1 else 0 end) as n_reserved,
       ${now} - min(case when reserved_at is null and available_at <= ${now} then created_at end) as n_oldest
     from ?? where queue = ?`,
    [table, queue],
  );
  const [row] = dialect.rows<
    Record<'n_size' | 'n_pending' | 'n_delayed' | 'n_reserved' | 'n_oldest', number | string | null>
  >(engine, result);
  const n = (value: number | string | null | undefined) => Number(value ?? 0);
  return {
    size: n(row?.n_size),
    pending: n(row?.n_pending),
    delayed: n(row?.n_delayed),
    reserved: n(row?.n_reserved),
    oldestPendingAge: row?.n_oldest === null || row?.n_oldest === undefined ? null : Math.max(0, n(row.n_oldest)),
  };
}
