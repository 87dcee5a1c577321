import type { Knex } from 'knex';

import type { Controls } from '../../../contracts/worker-queue.js';
import { dialect, type Engine } from '../dialect.js';

const RESTART = 'restart';
const pauseKey = (connection: string, queue: string) => `pause:${connection}:${queue}`;

/** Reads the restart counter and the paused queues of one connection. */
export async function readControls(knex: Knex, table: string, connection: string): Promise<Controls> {
  const prefix = pauseKey(connection, '');
  // The table holds a handful of rows; filtering here avoids LIKE, whose escaping differs by engine.
  const rows = (await knex(table).select('key', 'value')) as Array<{ key: string; value: number | string }>;
  let restart = 0;
  const paused: string[] = [];
  for (const row of rows) {
    if (row.key === RESTART) restart = Number(row.value);
    else if (row.key.startsWith(prefix)) paused.push(row.key.slice(prefix.length));
  }
  return { restart, paused: paused.sort() };
}

/** Bumps the restart counter: every worker polling this database exits after its in-flight jobs. */
export async function requestRestart(knex: Knex, engine: Engine, table: string): Promise<void> {
  const now = dialect.nowSql(engine);
  await knex(table)
    .insert({ key: RESTART, value: 1, updated_at: knex.raw(now) })
    .onConflict('key')
    .merge({ value: knex.raw('??.value + 1', [table]), updated_at: knex.raw(now) });
}

/** Pauses a queue of a connection; true when it was not paused before. */
export async function pauseQueue(
  knex: Knex,
  engine: Engine,
  table: string,
  connection: string,
  queue: string,
): Promise<boolean> {
  const key = pauseKey(connection, queue);
  if (await knex(table).where('key', key).first('key')) return false;
  await knex(table)
    .insert({ key, value: 1, updated_at: knex.raw(dialect.nowSql(engine)) })
    .onConflict('key')
    .ignore();
  return true;
}

/** Resumes a paused queue; true when it was paused. */
export async function resumeQueue(knex: Knex, table: string, connection: string, queue: string): Promise<boolean> {
  return (await knex(table).where('key', pauseKey(connection, queue)).delete()) > 0;
}
