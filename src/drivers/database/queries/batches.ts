import type { Knex } from 'knex';

import type { BatchRow, ClaimedCallback, PruneBatches } from '../../../contracts/batch-repository.js';
import { dialect, type Engine } from '../dialect.js';

/** A bit each in `callbacks_run`, and the counter state in which each becomes due. */
const CALLBACKS: Record<ClaimedCallback, { bit: number; due: string }> = {
  then: { bit: 1, due: 'pending_jobs = 0' },
  catch: { bit: 2, due: 'failed_jobs > 0' },
  finally: { bit: 4, due: 'pending_jobs - failed_jobs <= 0' },
};

/** Stores a new batch with no jobs yet. */
export async function insertBatch(
  knex: Knex,
  engine: Engine,
  table: string,
  batch: { id: string; name: string; options: string },
): Promise<void> {
  await knex(table).insert({
    id: batch.id,
    name: batch.name,
    total_jobs: 0,
    pending_jobs: 0,
    failed_jobs: 0,
    failed_job_ids: '[]',
    options: batch.options,
    cancelled_at: null,
    created_at: knex.raw(dialect.nowSql(engine)),
    finished_at: null,
    callbacks_run: 0,
  });
}

/** One batch, or undefined. */
export async function selectBatch(knex: Knex, table: string, id: string): Promise<BatchRow | undefined> {
  return (await knex(table).where({ id }).first()) as BatchRow | undefined;
}

/** Batches, newest first, `limit` at a time, before a given id for paging. */
export async function selectBatches(knex: Knex, table: string, limit: number, before?: string): Promise<BatchRow[]> {
  const query = knex(table).select('*').orderBy('id', 'desc').limit(limit);
  if (before !== undefined) query.where('id', '<', before);
  return (await query) as BatchRow[];
}

/**
 * Counts `n` more jobs in a batch, in one statement; a finished batch that gets more jobs is
 * unfinished again.
 */
export async function addBatchJobs(knex: Knex, table: string, id: string, n: number): Promise<void> {
  // Bindings: table, n, n, id.
  await knex.raw(
    'update ?? set total_jobs = total_jobs + ?, pending_jobs = pending_jobs + ?, finished_at = null where id = ?',
    [table, n, n, id],
  );
}

/**
 * Counts one job of the batch as done, in one statement (no row lock held across round trips);
 * a job that had failed before and now succeeded leaves `failed_job_ids`.
 */
export async function recordBatchSuccess(knex: Knex, table: string, id: string, uuid: string): Promise<void> {
  const quoted = `"${uuid}"`;
  // The id list is a JSON array of uuids; each appears at most once, so three REPLACEs remove it
  // whether it is first, in the middle or alone. Bindings: table, `"u",`, `,"u"`, `"u"`, id.
  await knex.raw(
    "update ?? set pending_jobs = pending_jobs - 1, failed_job_ids = replace(replace(replace(failed_job_ids, ?, ''), ?, ''), ?, '') where id = ?",
    [table, `${quoted},`, `,${quoted}`, quoted, id],
  );
}

/** Counts one job of the batch as failed and lists its uuid (once), in one statement. */
export async function recordBatchFailure(
  knex: Knex,
  engine: Engine,
  table: string,
  id: string,
  uuid: string,
): Promise<void> {
  const quoted = `"${uuid}"`;
  const appended = dialect.concatSql(engine, ['substr(failed_job_ids, 1, length(failed_job_ids) - 1)', '?']);
  // Bindings: table, listed already, listed alone, appended tail, id.
  await knex.raw(
    `update ?? set failed_jobs = failed_jobs + 1, failed_job_ids = case when ${dialect.containsSql(engine, 'failed_job_ids')} then failed_job_ids when failed_job_ids = '[]' then ? else ${appended} end where id = ?`,
    [table, quoted, `[${quoted}]`, `,${quoted}]`, id],
  );
}

/**
 * Takes the one right to run a callback kind: true for exactly one caller, once the counters make
 * it due. Taking `then` also marks the batch finished.
 */
export async function claimBatchCallback(
  knex: Knex,
  engine: Engine,
  table: string,
  id: string,
  kind: ClaimedCallback,
): Promise<boolean> {
  const { bit, due } = CALLBACKS[kind];
  const finish = kind === 'then' ? `, finished_at = coalesce(finished_at, ${dialect.nowSql(engine)})` : '';
  // The bit is a constant of ours, not input. Bindings: table, id.
  const result = await knex.raw(
    `update ?? set callbacks_run = callbacks_run + ${bit}${finish} where id = ? and (callbacks_run & ${bit}) = 0 and ${due}`,
    [table, id],
  );
  return dialect.affected(engine, result) > 0;
}

/** Cancels a batch (once): true when this call cancelled it. */
export async function cancelBatch(knex: Knex, engine: Engine, table: string, id: string): Promise<boolean> {
  const now = dialect.nowSql(engine);
  const result = await knex.raw(
    `update ?? set cancelled_at = ${now}, finished_at = coalesce(finished_at, ${now}) where id = ? and cancelled_at is null`,
    [table, id],
  );
  return dialect.affected(engine, result) > 0;
}

/** Deletes one batch. */
export async function deleteBatch(knex: Knex, table: string, id: string): Promise<boolean> {
  return Number(await knex(table).where({ id }).delete()) > 0;
}

/** Deletes old batches; resolves to how many. */
export async function pruneBatches(knex: Knex, engine: Engine, table: string, prune: PruneBatches): Promise<number> {
  const now = dialect.nowSql(engine);
  const older = (hours: number) => knex.raw(`${now} - ?`, [Math.round(hours * 3600)]);
  let count = Number(
    await knex(table).whereNotNull('finished_at').where('finished_at', '<=', older(prune.finishedHours)).delete(),
  );
  if (prune.unfinishedHours !== undefined) {
    count += Number(
      await knex(table).whereNull('finished_at').where('created_at', '<=', older(prune.unfinishedHours)).delete(),
    );
  }
  if (prune.cancelledHours !== undefined) {
    count += Number(
      await knex(table).whereNotNull('cancelled_at').where('cancelled_at', '<=', older(prune.cancelledHours)).delete(),
    );
  }
  return count;
}
