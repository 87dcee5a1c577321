import type { Knex } from 'knex';

/** Jobs on a queue, pending, delayed and reserved alike. */
export async function countJobs(knex: Knex, table: string, queue: string): Promise<number> {
  const [row] = (await knex(table).where({ queue }).count({ n: '*' })) as Array<{ n: number | string }>;
  return Number(row?.n ?? 0);
}

/** Deletes every job on a queue; resolves to how many. */
export async function clearJobs(knex: Knex, table: string, queue: string): Promise<number> {
  return Number(await knex(table).where({ queue }).delete());
}
