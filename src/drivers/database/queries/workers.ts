import type { Knex } from 'knex';

import type { SweptWorkers, WorkerRegistration } from '../../../contracts/worker-queue.js';
import { dialect, type Engine } from '../dialect.js';
import { retryLocks } from '../retry-locks.js';

/** The tables a worker's heartbeat touches. */
export interface HeartbeatTables {
  jobs: string;
  workers: string;
}

/** Inserts (or re-inserts, after being presumed dead) the worker's row, alive for `lapse` seconds. */
export async function registerWorker(
  knex: Knex,
  engine: Engine,
  table: string,
  worker: WorkerRegistration,
  lapse: number,
): Promise<void> {
  const now = dialect.nowSql(engine);
  await knex(table)
    .insert({
      id: worker.id,
      name: worker.name,
      connection: worker.connection,
      queues: worker.queues.join(','),
      hostname: worker.hostname,
      pid: worker.pid,
      concurrency: worker.concurrency,
      started_at: knex.raw(now),
      last_heartbeat_at: knex.raw(now),
      expires_at: knex.raw(`${now} + ?`, [lapse]),
    })
    .onConflict('id')
    .merge(['last_heartbeat_at', 'expires_at']);
}

/**
 * One beat: pushes the worker's expiry forward and renews the leases of the jobs it holds, so
 * `retryAfter` never fires for a job whose worker is alive. False when the row was gone (another
 * worker presumed this one dead and took its jobs back).
 */
export async function heartbeat(
  knex: Knex,
  engine: Engine,
  tables: HeartbeatTables,
  workerId: string,
  heldIds: readonly string[],
  lapse: number,
): Promise<boolean> {
  const now = dialect.nowSql(engine);
  // Bindings: table, lapse, id.
  const result = await knex.raw(`update ?? set last_heartbeat_at = ${now}, expires_at = ${now} + ? where id = ?`, [
    tables.workers,
    lapse,
    workerId,
  ]);
  const alive = dialect.affected(engine, result) > 0;
  for (let i = 0; alive && i < heldIds.length; i += 500) {
    const chunk = heldIds.slice(i, i + 500);
    // Bindings: table, id, ids…
    await knex.raw(
      `update ?? set reserved_at = ${now} where reserved_by = ? and id in (${chunk.map(() => '?').join(',')})`,
      [tables.jobs, workerId, ...chunk],
    );
  }
  return alive;
}

/** Removes the worker's row on a clean exit. */
export async function deregisterWorker(knex: Knex, table: string, workerId: string): Promise<void> {
  await knex(table).where({ id: workerId }).delete();
}

/**
 * Takes back the jobs of workers whose heartbeat lapsed: they become claimable at once, with the
 * attempt their dead holder used still counted (so a job that kills its worker ends in
 * failed_jobs once out of tries). Resolves to the workers found dead and how many jobs came back.
 *
 * The verdict and the take-back are one transaction per worker, the verdict first: the worker's
 * row is deleted only if it is still expired, and its jobs are freed only when that delete
 * removed it. A heartbeat that comes in between waits on the deleted row and then finds it gone,
 * so the worker learns it was presumed dead; a heartbeat that lands first keeps the row, and the
 * delete then matches nothing and frees nothing. Freeing first and deleting after let a worker
 * that beat in between keep its row and run on while its jobs were claimed elsewhere.
 */
export async function sweepDeadWorkers(
  knex: Knex,
  engine: Engine,
  tables: HeartbeatTables,
  sweeperId?: string,
): Promise<SweptWorkers> {
  const now = dialect.nowSql(engine);
  const query = knex(tables.workers).where('expires_at', '<', knex.raw(now));
  // Never itself: a sweeper stopped between its heartbeat and its sweep would find its own row
  // expired and take its own jobs away.
  if (sweeperId) query.andWhereNot('id', sweeperId);
  // Only candidates: each is judged again, under its row's lock, by the delete below.
  const candidates = (await query.select('id')) as Array<{ id: string }>;
  const workers: string[] = [];
  let jobs = 0;
  const byQueue: Record<string, number> = {};
  for (const { id } of candidates) {
    // Retried per worker on a deadlock, so the verdicts already committed are still counted.
    const freed = await retryLocks(() =>
      knex.transaction(async (trx) => {
        const dead = await trx(tables.workers).where({ id }).andWhere('expires_at', '<', trx.raw(now)).delete();
        if (Number(dead) === 0) return undefined;
        // Per queue for errand_jobs_recovered_total, read in the same transaction just before the
        // take-back: the worker is gone, so nothing of its own claims more meanwhile.
        const perQueue = (await trx(tables.jobs)
          .where('reserved_by', id)
          .select('queue')
          .count({ count: '*' })
          .groupBy('queue')) as Array<{ queue: string; count: number | string }>;
        // Bindings: table, id.
        const result = await trx.raw('update ?? set reserved_at = null, reserved_by = null where reserved_by = ?', [
          tables.jobs,
          id,
        ]);
        return { count: dialect.affected(engine, result), perQueue };
      }),
    );
    if (freed === undefined) continue;
    workers.push(id);
    jobs += freed.count;
    for (const { queue, count } of freed.perQueue) byQueue[queue] = (byQueue[queue] ?? 0) + Number(count);
  }
  return { workers, jobs, byQueue };
}

/** A registered worker as `queue:monitor` and tests see it. */
export interface WorkerRow {
  id: string;
  name: string;
  connection: string;
  queues: string;
  hostname: string;
  pid: number;
  concurrency: number;
  started_at: number;
  last_heartbeat_at: number;
  expires_at: number;
}

/** Every registered worker. */
export async function listWorkers(knex: Knex, table: string): Promise<WorkerRow[]> {
  const rows = (await knex(table).select('*').orderBy('started_at')) as WorkerRow[];
  return rows.map((row) => ({
    ...row,
    pid: Number(row.pid),
    concurrency: Number(row.concurrency),
    started_at: Number(row.started_at),
    last_heartbeat_at: Number(row.last_heartbeat_at),
    expires_at: Number(row.expires_at),
  }));
}
