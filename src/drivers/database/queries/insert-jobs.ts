import type { Knex } from 'knex';

import type { PushRequest } from '../../../contracts/queue-driver.js';
import { dialect, type Engine } from '../dialect.js';
import { jobsChannel } from '../listen-for-jobs.js';

/**
 * Inserts jobs in one statement (a long list in chunks, in one transaction); `available_at` and `created_at` come from the database clock
 * (an absolute Date delay is stored as its own instant). Resolves to the ids in input order.
 */
export async function insertJobs(knex: Knex, engine: Engine, table: string, requests: readonly PushRequest[]): Promise<string[]> {
  if (requests.length === 0) return [];
  const size = dialect.maxRowsPerInsert(engine);
  if (requests.length > size) {
    // Many rows go in chunks, all or none: one transaction (or the caller's).
    const run = async (db: Knex) => {
      const ids: string[] = [];
      for (let i = 0; i < requests.length; i += size) ids.push(...(await insertChunk(db, engine, table, requests.slice(i, i + size))));
      return ids;
    };
    return knex.isTransaction ? run(knex) : knex.transaction(run);
  }
  return insertChunk(knex, engine, table, requests);
}

async function insertChunk(knex: Knex, engine: Engine, table: string, requests: readonly PushRequest[]): Promise<string[]> {
  const now = dialect.nowSql(engine);
  const rows = requests.map((request) => ({
    queue: request.queue,
    payload: request.payload,
    attempts: 0,
    exceptions: 0,
    reserved_at: null,
    reserved_by: null,
    available_at: availableAt(knex, now, request.delay),
    created_at: knex.raw(now),
  }));
  if (engine === 'mysql') {
    // MySQL returns the first id of a multi-row insert; the rest follow it consecutively.
    const [first] = (await knex(table).insert(rows)) as number[];
    return requests.map((_, i) => String(Number(first) + i));
  }
  if (engine === 'postgres') {
    // NOTIFY in the same statement: listening workers wake as soon as the insert commits (and
    // hear nothing if it rolls back). Notifications repeated in one transaction are folded.
    const result = await knex.raw('with inserted as (?) select id, pg_notify(?, queue) from inserted', [
      knex(table).insert(rows).returning(['id', 'queue']),
      jobsChannel(table),
    ]);
    return dialect.rows<{ id: string | number }>(engine, result).map((row) => String(row.id));
  }
  const inserted = (await knex(table).insert(rows).returning('id')) as Array<{ id: number | string } | number>;
  return inserted.map((row) => String(typeof row === 'object' ? row.id : row));
}

function availableAt(knex: Knex, now: string, delay: number | Date | undefined): Knex.Raw | number {
  if (delay instanceof Date) return Math.floor(delay.getTime() / 1000);
  if (!delay || delay <= 0) return knex.raw(now);
  return knex.raw(`${now} + ?`, [Math.ceil(delay)]);
}
