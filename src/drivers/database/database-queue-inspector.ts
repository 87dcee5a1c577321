import type {
  InspectedJob,
  InspectedWorker,
  JobFilter,
  JobPage,
  QueueInspector,
  QueueSnapshot,
} from '../../contracts/queue-inspector.js';
import type { DatabaseQueue } from './database-queue.js';
import {
  countState,
  findJob,
  heldJobIds,
  type JobsTable,
  jobQueueNames,
  oldestPendingAt,
  storeNow,
  type WalkPosition,
  walkJobs,
} from './queries/inspect-jobs.js';

/**
 * What a dashboard reads of a database queue connection: queue names by loose index walks, counts
 * that stop at a cap, pages that walk the claim indexes from a cursor (decision 0061). The
 * connection's own queue does every change (pause, resume, clear).
 */
export class DatabaseQueueInspector implements QueueInspector {
  private readonly jobsTable: JobsTable;

  constructor(private readonly store: DatabaseQueue) {
    this.jobsTable = { knex: store.knex, engine: store.engine, table: store.table };
  }

  get connectionName(): string {
    return this.store.connectionName;
  }

  job(id: string): Promise<InspectedJob | undefined> {
    return this.run(async () => findJob(this.jobsTable, id, await storeNow(this.jobsTable)));
  }

  async jobs(filter: JobFilter): Promise<JobPage> {
    const limit = Math.trunc(filter.limit);
    if (!(limit >= 1))
      throw new RangeError(`jobs(): the limit must be a whole number ≥ 1, not ${String(filter.limit)}.`);
    const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
    return this.run(async () => {
      const now = await storeNow(this.jobsTable);
      const queues = filter.queue === undefined ? await jobQueueNames(this.jobsTable) : [filter.queue];
      const page = await walkJobs(this.jobsTable, {
        state: filter.state,
        queues,
        now,
        limit,
        after,
        job: filter.job,
      });
      return { jobs: page.jobs, next: page.next ? encodeCursor(page.next) : null };
    });
  }

  now(): Promise<number> {
    return this.run(() => storeNow(this.jobsTable));
  }

  async queue(name: string, cap: number): Promise<QueueSnapshot> {
    const { paused } = await this.store.controls();
    return this.run(async () => {
      const now = await storeNow(this.jobsTable);
      const pending = await countState(this.jobsTable, 'pending', name, now, cap);
      const delayed = await countState(this.jobsTable, 'delayed', name, now, cap);
      const reserved = await countState(this.jobsTable, 'reserved', name, now, cap);
      const oldest = await oldestPendingAt(this.jobsTable, name, now);
      return {
        name,
        pending: Math.min(pending, cap),
        delayed: Math.min(delayed, cap),
        reserved: Math.min(reserved, cap),
        capped: pending > cap || delayed > cap || reserved > cap,
        oldestPendingAge: oldest === null ? null : Math.max(0, now - oldest),
        paused: paused.includes(name),
      };
    });
  }

  async queueNames(): Promise<string[]> {
    const [jobs, controls, workers] = await Promise.all([
      this.run(() => jobQueueNames(this.jobsTable)),
      this.store.controls(),
      this.store.workers(),
    ]);
    const names = new Set([...jobs, ...controls.paused]);
    for (const worker of workers)
      if (worker.connection === this.connectionName) for (const queue of splitQueues(worker.queues)) names.add(queue);
    return [...names].sort();
  }

  async workers(): Promise<InspectedWorker[]> {
    const rows = (await this.store.workers()).filter((row) => row.connection === this.connectionName);
    return this.run(async () => {
      const now = await storeNow(this.jobsTable);
      const held = await heldJobIds(
        this.jobsTable,
        rows.map((row) => row.id),
      );
      return rows.map((row) => ({
        id: row.id,
        name: row.name,
        connection: row.connection,
        queues: splitQueues(row.queues),
        hostname: row.hostname,
        pid: row.pid,
        concurrency: row.concurrency,
        startedAt: row.started_at,
        lastHeartbeatAt: row.last_heartbeat_at,
        expiresAt: row.expires_at,
        lost: row.expires_at < now,
        jobs: held.get(row.id) ?? [],
      }));
    });
  }

  private run<T>(operation: () => Promise<T>): Promise<T> {
    return this.store.inspect(operation);
  }
}

function splitQueues(list: string): string[] {
  return list.split(',').filter((queue) => queue !== '');
}

/** A cursor names a place in a walk: opaque to callers, checked when it comes back. */
function encodeCursor(position: WalkPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

function decodeCursor(cursor: string): WalkPosition {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (typeof at === 'number' && Number.isFinite(at) && typeof id === 'string' && /^\d{1,18}$/.test(id))
      return { at, id };
  } catch {
    // Reported below, as every other malformed cursor.
  }
  throw new RangeError(`The cursor ${JSON.stringify(cursor)} is not one a page of jobs handed out.`);
}
