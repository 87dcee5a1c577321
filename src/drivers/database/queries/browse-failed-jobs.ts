import type { Knex } from 'knex';

import type { CappedCount, FailedJobPage, FailedJobSearch } from '../../../contracts/failed-job-store.js';
import { dialect, type Engine } from '../dialect.js';
import { type FailedRow, storedFailedJob } from './failed-jobs.js';

/**
 * Rows a page request examines when it searches the exception text, which no index holds: the
 * walk reads at most this many of the newest matching-by-index rows per request, then hands back
 * a cursor to go on from (decision 0062).
 */
export const TEXT_SEARCH_WINDOW = 5000;

/** Rows of each index range a count by exception text reads before it gives up as capped. */
export const TEXT_COUNT_WINDOW = 10_000;

/** The failed_jobs table and the engine that keeps it. */
export interface FailedTable {
  readonly knex: Knex;
  readonly engine: Engine;
  readonly table: string;
}

/** One (connection, queue, job) combination that failed_jobs holds rows of. */
export interface FailedGroup {
  readonly connection: string;
  readonly queue: string;
  readonly job: string;
}

/** The distinct values of `column` among rows matching `equal`, by a loose walk of the (connection, queue, job, id) index. */
async function walk(failed: FailedTable, column: string, equal: Record<string, string>): Promise<string[]> {
  const names = Object.keys(equal);
  const condition = names.length === 0 ? '1 = 1' : names.map((name) => `${name} = ?`).join(' and ');
  const values = Object.values(equal);
  const result = await failed.knex.raw(dialect.looseWalkSql(column, condition), [
    failed.table,
    ...values,
    failed.table,
    ...values,
  ]);
  return dialect.rows<{ v: string }>(failed.engine, result).map((row) => row.v);
}

/**
 * The (connection, queue, job) combinations matching the search's indexed conditions, found by
 * loose walks (one index seek per combination): each one's rows are then an index range, newest
 * first, whatever the search names.
 */
export async function failedGroups(failed: FailedTable, search: FailedJobSearch): Promise<FailedGroup[]> {
  const groups: FailedGroup[] = [];
  const connections = search.connection !== undefined ? [search.connection] : await walk(failed, 'connection', {});
  for (const connection of connections) {
    const queues = search.queue !== undefined ? [search.queue] : await walk(failed, 'queue', { connection });
    for (const queue of queues) {
      const jobs = search.job !== undefined ? [search.job] : await walk(failed, 'job', { connection, queue });
      for (const job of jobs) groups.push({ connection, queue, job });
    }
  }
  return groups;
}

/** The distinct (connection, queue) pairs of failed_jobs, sorted, by loose index walks. */
export async function failedQueues(failed: FailedTable): Promise<Array<{ connection: string; queue: string }>> {
  const pairs: Array<{ connection: string; queue: string }> = [];
  for (const connection of await walk(failed, 'connection', {}))
    for (const queue of await walk(failed, 'queue', { connection })) pairs.push({ connection, queue });
  return pairs;
}

/**
 * The index ranges a search reads, each newest first by id: a job name without a queue is one
 * range of the (job, id) index (MySQL/MariaDB cannot skip-scan the queues of the
 * (connection, queue, job, id) one, decision 0072); other indexed searches one range per
 * (connection, queue, job) group; a search naming no column the primary key (undefined).
 */
async function rangesOf(
  failed: FailedTable,
  search: FailedJobSearch,
): Promise<Array<Partial<FailedGroup> | undefined>> {
  if (search.job !== undefined && search.queue === undefined)
    return [{ job: search.job, ...(search.connection !== undefined ? { connection: search.connection } : {}) }];
  const indexed = search.connection !== undefined || search.queue !== undefined;
  return indexed ? failedGroups(failed, search) : [undefined];
}

/**
 * Ids of matching rows below `before` (and from `from` on), newest first, at most `limit`: from
 * the primary key when the search names no indexed column, else merged from each range.
 */
async function idsBelow(
  failed: FailedTable,
  search: FailedJobSearch,
  limit: number,
  range: { before?: string; from?: string; text?: string },
): Promise<bigint[]> {
  const one = (group?: Partial<FailedGroup>) => {
    const query = failed.knex(failed.table).select('id');
    if (group) query.where(group);
    if (range.before !== undefined) query.where('id', '<', range.before);
    if (range.from !== undefined) query.where('id', '>=', range.from);
    if (range.text !== undefined) query.whereRaw(dialect.containsSql(failed.engine, 'exception'), [range.text]);
    return query.orderBy('id', 'desc').limit(limit);
  };
  const queries = (await rangesOf(failed, search)).map((group) => one(group));
  const ids: bigint[] = [];
  for (const query of queries)
    for (const row of (await query) as Array<{ id: number | string }>) ids.push(BigInt(row.id));
  return ids.sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)).slice(0, limit);
}

/**
 * A page of failed jobs, newest first, below the cursor (an id). Searching the exception text,
 * the page looks through at most TEXT_SEARCH_WINDOW rows and may come back short, with a cursor
 * to go on.
 */
export async function pageFailedJobs(
  failed: FailedTable,
  search: FailedJobSearch,
  limit: number,
  before?: string,
): Promise<FailedJobPage> {
  let ids: bigint[];
  let next: string | null;
  if (search.text === undefined) {
    ids = await idsBelow(failed, search, limit + 1, { before });
    next = ids.length > limit ? String(ids[limit - 1]) : null;
    ids = ids.slice(0, limit);
  } else {
    const window = await idsBelow(failed, search, TEXT_SEARCH_WINDOW, { before });
    const from = window.length === TEXT_SEARCH_WINDOW ? String(window.at(-1)) : undefined;
    ids = await idsBelow(failed, search, limit, { before, from, text: search.text });
    next = ids.length === limit ? String(ids.at(-1)) : (from ?? null);
  }
  if (ids.length === 0) return { jobs: [], next };
  const rows = (await failed
    .knex(failed.table)
    .whereIn(
      'id',
      ids.map((id) => String(id)),
    )
    .orderBy('id', 'desc')
    .select('*')) as FailedRow[];
  return { jobs: rows.map(storedFailedJob), next };
}

/**
 * How many failed jobs match, counting no further than `cap`: each group's index range (or the
 * primary key's) read as far as `cap + 1` rows. Searching the text, each range is read only as
 * far as its newest TEXT_COUNT_WINDOW rows, and a range that fills them makes the count capped.
 */
export async function countFailedUpTo(failed: FailedTable, search: FailedJobSearch, cap: number): Promise<CappedCount> {
  const groups = await rangesOf(failed, search);
  let count = 0;
  let capped = false;
  for (const group of groups) {
    const range = failed.knex(failed.table);
    if (group) range.where(group);
    // Newest first, as the index (or primary key) reads backwards: a range is read from the index
    // rather than by a scan of the table, and a text count's window holds the newest rows.
    range.orderBy('id', 'desc');
    if (search.text === undefined) {
      const [row] = (await failed.knex.count({ n: '*' }).from(
        range
          .select('id')
          .limit(cap + 1 - count)
          .as('capped'),
      )) as Array<{ n: number | string }>;
      count += Number(row?.n ?? 0);
    } else {
      const window = range.select('id', 'exception').limit(TEXT_COUNT_WINDOW);
      const [row] = (await failed.knex
        .from(window.as('window'))
        .select(
          failed.knex.raw('count(*) as n'),
          failed.knex.raw(`sum(case when ${dialect.containsSql(failed.engine, 'exception')} then 1 else 0 end) as m`, [
            search.text,
          ]),
        )) as Array<{ n: number | string; m: number | string | null }>;
      count += Number(row?.m ?? 0);
      // A full window may have more rows behind it: the count is then "at least".
      if (Number(row?.n ?? 0) >= TEXT_COUNT_WINDOW) capped = true;
    }
    if (count > cap) return { count: cap, capped: true };
  }
  return { count, capped };
}
