import type { Knex } from 'knex';

import type { FailedJobRecord, StoredFailedJob } from '../../../contracts/failed-job-store.js';

interface FailedRow {
  id: number | string;
  uuid: string;
  connection: string;
  queue: string;
  payload: string;
  exception: string;
  failed_at: Date | string | number;
}

/** Records a failed job once: a second insert of the same uuid is ignored on every engine. */
export async function insertFailedJob(knex: Knex, table: string, record: FailedJobRecord): Promise<void> {
  await knex(table)
    .insert({
      uuid: record.uuid,
      connection: record.connection,
      queue: record.queue,
      payload: record.payload,
      exception: record.exception,
    })
    .onConflict('uuid')
    .ignore();
}

/** Failed jobs, newest first. */
export async function selectFailedJobs(knex: Knex, table: string, uuid?: string): Promise<StoredFailedJob[]> {
  const query = knex(table).select('*').orderBy('id', 'desc');
  if (uuid !== undefined) query.where({ uuid });
  const rows = (await query) as FailedRow[];
  return rows.map((row) => ({
    id: String(row.id),
    uuid: row.uuid,
    connection: row.connection,
    queue: row.queue,
    payload: row.payload,
    exception: row.exception,
    failedAt: toDate(row.failed_at),
  }));
}

/** How many failed jobs are stored. */
export async function countFailedJobs(knex: Knex, table: string): Promise<number> {
  const [row] = (await knex(table).count({ n: '*' })) as Array<{ n: number | string }>;
  return Number(row?.n ?? 0);
}

/** Deletes one failed job by uuid. */
export async function deleteFailedJob(knex: Knex, table: string, uuid: string): Promise<boolean> {
  return Number(await knex(table).where({ uuid }).delete()) > 0;
}

function toDate(value: Date | string | number): Date {
  if (value instanceof Date) return value;
  // SQLite's CURRENT_TIMESTAMP is "YYYY-MM-DD HH:MM:SS" in UTC.
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value)) return new Date(`${value.replace(' ', 'T')}Z`);
  return new Date(value);
}
