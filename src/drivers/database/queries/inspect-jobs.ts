import type { Knex } from 'knex';

import type { InspectedJob, JobState } from '../../../contracts/queue-inspector.js';
import { displayNameOf } from '../../../payload/display-name.js';
import { dialect, type Engine } from '../dialect.js';

/**
 * Rows a page request examines when it filters by job name: the name lives in the payload, which
 * no index holds, so the walk reads at most this many rows of the state's index per request and
 * hands back a cursor to go on from (decision 0061).
 */
export const NAME_FILTER_WINDOW = 5000;

/** A row of the jobs table as the inspector reads it. */
interface JobRow {
  id: number | string;
  queue: string;
  payload: string;
  attempts: number | string;
  exceptions: number | string;
  reserved_at: number | string | null;
  reserved_by: string | null;
  available_at: number | string;
  created_at: number | string;
}

/** Where a walk through one state's index stands: its sort key (a time) and the job id. */
export interface WalkPosition {
  readonly at: number;
  readonly id: string;
}

/** The jobs table and the engine that keeps it. */
export interface JobsTable {
  readonly knex: Knex;
  readonly engine: Engine;
  readonly table: string;
}

/**
 * The rows of one state on one queue, in the state's order, as the claim indexes serve them
 * (dialect.claimIndexes): every engine reads `reserved_at is null` with the queue as an index
 * prefix (PostgreSQL's ready index is partial on it), and reserved rows by their own index.
 */
function stateQuery(jobs: JobsTable, state: JobState, queue: string, now: number): Knex.QueryBuilder {
  const query = jobs.knex(jobs.table).where('queue', queue);
  if (state === 'reserved') return query.whereNotNull('reserved_at');
  query.whereNull('reserved_at');
  return state === 'pending' ? query.where('available_at', '<=', now) : query.where('available_at', '>', now);
}

/** The column a state is listed by: due time for waiting jobs, claim (or last renewal) time for reserved ones. */
function keyColumn(state: JobState): 'available_at' | 'reserved_at' {
  return state === 'reserved' ? 'reserved_at' : 'available_at';
}

/** Rows strictly after `from` (when given) and at most `to` (when given), in (key, id) order. */
function between(query: Knex.QueryBuilder, column: string, from?: WalkPosition, to?: WalkPosition): Knex.QueryBuilder {
  // Spelled as a range on the key plus an OR, not a row comparison: MySQL and MariaDB use an index
  // range only for the former.
  if (from) {
    query.where(column, '>=', from.at).where((q) => q.where(column, '>', from.at).orWhere('id', '>', from.id));
  }
  if (to) {
    query.where(column, '<=', to.at).where((q) => q.where(column, '<', to.at).orWhere('id', '<=', to.id));
  }
  return query.orderBy([column, 'id']);
}

/** The distinct queues of the jobs table, by loose index walks (the ready rows' and the reserved rows'). */
export async function jobQueueNames(jobs: JobsTable): Promise<string[]> {
  const names = new Set<string>();
  // PostgreSQL's ready index is partial, so ready and reserved rows are walked apart; elsewhere one
  // walk over the claim index, which leads with the queue, sees every row.
  const conditions = jobs.engine === 'postgres' ? ['reserved_at is null', 'reserved_at is not null'] : ['1 = 1'];
  for (const condition of conditions) {
    const result = await jobs.knex.raw(dialect.looseWalkSql('queue', condition), [jobs.table, jobs.table]);
    for (const row of dialect.rows<{ v: string }>(jobs.engine, result)) names.add(row.v);
  }
  return [...names].sort();
}

/** How many jobs of one state a queue holds, counting no further than `cap + 1`. */
export async function countState(
  jobs: JobsTable,
  state: JobState,
  queue: string,
  now: number,
  cap: number,
): Promise<number> {
  const inner = stateQuery(jobs, state, queue, now)
    .select(jobs.knex.raw('1'))
    .limit(cap + 1);
  const [row] = (await jobs.knex.count({ n: '*' }).from(inner.as('capped'))) as Array<{ n: number | string }>;
  return Number(row?.n ?? 0);
}

/** When the queue's oldest pending job became available, or null when none is pending. */
export async function oldestPendingAt(jobs: JobsTable, queue: string, now: number): Promise<number | null> {
  const row = (await stateQuery(jobs, 'pending', queue, now).orderBy('available_at').first('available_at')) as
    | { available_at: number | string }
    | undefined;
  return row ? Number(row.available_at) : null;
}

/** What a page of one state's jobs on several queues needs. */
export interface PageRequest {
  readonly state: JobState;
  readonly queues: readonly string[];
  readonly now: number;
  readonly limit: number;
  readonly after?: WalkPosition;
  /** The payload's display name, when the page is filtered by it. */
  readonly job?: string;
}

/** One page and where the walk stopped: the last row it examined, or null at the end of every queue. */
export interface WalkedPage {
  readonly jobs: InspectedJob[];
  readonly next: WalkPosition | null;
}

/**
 * A page of jobs in one state across `queues`, merged in (key, id) order: each queue's rows come
 * from its own index range, so no request sorts or counts the table. Filtered by job name, each
 * queue's walk first finds where its share of NAME_FILTER_WINDOW rows ends, and the page stops at
 * the nearest of those ends: it may hold fewer rows than asked, with a cursor to go on.
 */
export async function walkJobs(jobs: JobsTable, request: PageRequest): Promise<WalkedPage> {
  const { state, now, limit, after, job } = request;
  const column = keyColumn(state);
  let bound: WalkPosition | undefined;
  if (job !== undefined) {
    // The window is shared among the queues, so a request reads about as much however many there are.
    const share = Math.max(100, Math.ceil(NAME_FILTER_WINDOW / Math.max(1, request.queues.length)));
    for (const queue of request.queues) {
      const row = (await between(stateQuery(jobs, state, queue, now), column, after)
        .offset(share - 1)
        .first(`${column} as at`, 'id')) as { at: number | string; id: number | string } | undefined;
      if (!row) continue;
      const end = { at: Number(row.at), id: String(row.id) };
      if (!bound || compare(end, bound) < 0) bound = end;
    }
  }
  const found: InspectedJob[] = [];
  for (const queue of request.queues) {
    const query = between(stateQuery(jobs, state, queue, now), column, after, bound).limit(limit);
    if (job !== undefined) {
      const named = dialect.jsonTextEqualsSql(jobs.engine, 'payload', 'displayName', job);
      query.whereRaw(named.sql, named.bindings);
    }
    for (const row of (await query.select('*')) as JobRow[]) found.push(inspected(row, now));
  }
  found.sort((a, b) => compare(positionOf(a, state), positionOf(b, state)));
  const page = found.slice(0, limit);
  const last = page.at(-1);
  const next = page.length === limit && last ? positionOf(last, state) : (bound ?? null);
  return { jobs: page, next };
}

/** One job by id, or undefined when the table no longer holds it. */
export async function findJob(jobs: JobsTable, id: string, now: number): Promise<InspectedJob | undefined> {
  // The id column is an integer: PostgreSQL rejects comparing it with other text.
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const row = (await jobs.knex(jobs.table).where('id', id).first('*')) as JobRow | undefined;
  return row ? inspected(row, now) : undefined;
}

/** The ids of the jobs each of `workerIds` holds, by the reserved_by index. */
export async function heldJobIds(jobs: JobsTable, workerIds: readonly string[]): Promise<Map<string, string[]>> {
  const held = new Map<string, string[]>();
  for (let i = 0; i < workerIds.length; i += 500) {
    const rows = (await jobs
      .knex(jobs.table)
      .whereIn('reserved_by', workerIds.slice(i, i + 500))
      .orderBy('id')
      .select('id', 'reserved_by')) as Array<{ id: number | string; reserved_by: string }>;
    for (const row of rows) {
      const list = held.get(row.reserved_by) ?? [];
      list.push(String(row.id));
      held.set(row.reserved_by, list);
    }
  }
  return held;
}

/** The store's clock, unix seconds. */
export async function storeNow(jobs: JobsTable): Promise<number> {
  const result = await jobs.knex.raw(`select ${dialect.nowSql(jobs.engine)} as now`);
  return Number(dialect.rows<{ now: number | string }>(jobs.engine, result)[0]?.now);
}

function inspected(row: JobRow, now: number): InspectedJob {
  const availableAt = Number(row.available_at);
  const reservedAt = row.reserved_at === null ? null : Number(row.reserved_at);
  const state: JobState = reservedAt !== null ? 'reserved' : availableAt > now ? 'delayed' : 'pending';
  return {
    id: String(row.id),
    queue: row.queue,
    state,
    name: displayNameOf(row.payload),
    attempts: Number(row.attempts),
    exceptions: Number(row.exceptions),
    createdAt: Number(row.created_at),
    availableAt,
    reservedAt,
    reservedBy: row.reserved_by,
    payload: row.payload,
  };
}

function positionOf(job: InspectedJob, state: JobState): WalkPosition {
  return { at: state === 'reserved' ? (job.reservedAt ?? 0) : job.availableAt, id: job.id };
}

function compare(a: WalkPosition, b: WalkPosition): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  const x = BigInt(a.id);
  const y = BigInt(b.id);
  return x < y ? -1 : x > y ? 1 : 0;
}
