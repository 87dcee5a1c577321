import type { Knex } from 'knex';

import type { ResolvedDatabaseConnection } from '../../config/config-types.js';
import type { FailedJobRecord, FailedJobStore } from '../../contracts/failed-job-store.js';
import type { PushRequest } from '../../contracts/queue.js';
import type { ReservedJob } from '../../contracts/reserved-job.js';
import type {
  Controls,
  FinishingWrites,
  LeaseSettings,
  QueueStats,
  SweptWorkers,
  WorkerQueue,
  WorkerRegistration,
} from '../../contracts/worker-queue.js';
import { ConfigError } from '../../errors/config-error.js';
import { processMetrics } from '../../metrics/process-metrics.js';
import { DatabaseBatchRepository } from './database-batch-repository.js';
import { describeDatabaseError, isRetryableLock } from './database-error.js';
import { DatabaseFailedJobStore } from './database-failed-job-store.js';
import { DatabaseLockStore } from './database-lock-store.js';
import { dialect, type Engine, type ServerInfo } from './dialect.js';
import { listenForJobs } from './listen-for-jobs.js';
import { claimJobs, explainClaim, findReservedJobs, releaseExpiredReservations } from './queries/claim-jobs.js';
import { pauseQueue, readControls, requestRestart, resumeQueue } from './queries/controls.js';
import { insertFailedJob } from './queries/failed-jobs.js';
import { deleteReservedJob, deleteReservedJobs, releaseReservedJob, unclaimJobs } from './queries/finish-jobs.js';
import { insertJobs } from './queries/insert-jobs.js';
import { clearJobs, countJobs, queueStats } from './queries/queue-stats.js';
import {
  deregisterWorker,
  heartbeat,
  listWorkers,
  registerWorker,
  sweepDeadWorkers,
  type WorkerRow,
} from './queries/workers.js';
import { retryLocks } from './retry-locks.js';
import { detectServer } from './server-info.js';
import { knexTransaction } from './store-transaction.js';
import { watchSqliteFile } from './watch-sqlite-file.js';

/** How often a queue's expired reservations are looked for (see releaseExpired). */
const EXPIRED_CHECK_MS = 1000;

/** A queue connection whose jobs live in a database table (Laravel's `database` driver). */
export class DatabaseQueue implements WorkerQueue {
  readonly engine: Engine;
  /** Jobs are stored, and run by workers. */
  readonly runsJobsInline = false;
  private serverInfo: Promise<ServerInfo> | undefined;
  private readonly expiredCheckedAt = new Map<string, number>();

  constructor(
    readonly connectionName: string,
    readonly knex: Knex,
    readonly config: ResolvedDatabaseConnection,
    private readonly warn: (message: string) => void = (message) => console.warn(`[errand] ${message}`),
  ) {
    this.engine = dialect.engineOf(config.client);
  }

  get defaultQueue(): string {
    return this.config.queue;
  }

  get table(): string {
    return this.config.table;
  }

  get leases(): LeaseSettings {
    return { heartbeat: this.config.heartbeat, retryAfter: this.config.retryAfter };
  }

  /** False for an in-memory SQLite database: a connection opened elsewhere gets a database of its own. */
  get reachableFromOtherThreads(): boolean {
    const connection = this.config.connection as { filename?: string };
    return !(this.config.client === 'better-sqlite3' && connection.filename === ':memory:');
  }

  bulk(requests: readonly PushRequest[]): Promise<string[]> {
    const held = requests.find((request) => request.transaction)?.transaction;
    const trx = held ? knexTransaction(held) : undefined;
    if (trx) this.checkTransaction(trx);
    return this.run(() => insertJobs(trx ?? this.knex, this.engine, this.table, requests));
  }

  /** A queue or store of this driver on the same knex instance (one pool, one database). */
  sharesStoreWith(other: object): boolean {
    return (
      (other instanceof DatabaseQueue ||
        other instanceof DatabaseFailedJobStore ||
        other instanceof DatabaseBatchRepository ||
        other instanceof DatabaseLockStore) &&
      other.knex === this.knex
    );
  }

  /** An application transaction can hold the jobs only when it is on the same kind of database. */
  private checkTransaction(trx: Knex.Transaction): void {
    const engine = dialect.engineOfKnex(trx);
    if (engine !== this.engine) {
      throw new ConfigError(
        `withTransaction: the transaction is on a ${engine ?? 'different'} database, but queue connection [${this.connectionName}] stores its jobs in ${this.engine}. The queue's tables must live in the application's database.`,
      );
    }
  }

  claim(queue: string, limit: number, leaseToken: string): Promise<ReservedJob[]> {
    const input = { table: this.table, queue, limit, leaseToken };
    return this.run(async () => {
      const info = await this.server();
      const claim = async () => {
        try {
          return await claimJobs(this.knex, info, input);
        } catch (error) {
          // A deadlock or lock timeout between claimers is worth exactly one more try.
          if (!isRetryableLock(error)) throw error;
          return claimJobs(this.knex, info, input);
        }
      };
      // Expired reservations are looked for at most once a second while claims find jobs, and
      // after a claim that finds none: an idle or starved worker always finds them. Not after a
      // short claim: a worker woken for one new job would wait a round trip more to start it.
      if (await this.releaseExpired(queue, false)) return claim();
      const jobs = await claim();
      if (jobs.length === 0 && (await this.releaseExpired(queue, true))) return claim();
      return jobs;
    });
  }

  clear(queue: string): Promise<number> {
    return this.run(() => clearJobs(this.knex, this.table, queue));
  }

  async close(): Promise<void> {
    await this.knex.destroy();
  }

  delete(job: ReservedJob, within?: FinishingWrites): Promise<boolean> {
    if (!within) return this.run(() => retryLocks(() => deleteReservedJob(this.knex, this.engine, this.table, job)));
    return this.run(() =>
      retryLocks(() =>
        this.knex.transaction(async (trx) => {
          if (!(await deleteReservedJob(trx, this.engine, this.table, job))) return false;
          await within(trx);
          return true;
        }),
      ),
    );
  }

  deleteMany(jobs: readonly ReservedJob[]): Promise<Set<string>> {
    return this.run(async () => {
      const held = new Set<string>();
      const info = await this.server();
      for (const [token, group] of byHolder(jobs)) {
        for (const id of await retryLocks(() => deleteReservedJobs(this.knex, info, this.table, token, group)))
          held.add(id);
      }
      return held;
    });
  }

  unclaim(jobs: readonly ReservedJob[], delaySeconds = 0): Promise<number> {
    return this.run(async () => {
      let count = 0;
      for (const [token, group] of byHolder(jobs))
        count += await retryLocks(() => unclaimJobs(this.knex, this.engine, this.table, token, group, delaySeconds));
      return count;
    });
  }

  /**
   * Calls `onQueue` when a job may have been pushed: with its queue on PostgreSQL (LISTEN/NOTIFY),
   * with `undefined` (any queue) on SQLite, whose file is watched for writes by other processes.
   * MySQL/MariaDB have no push channel and rely on polling. Resolves to a function that stops.
   * The worker's queues are not needed: one channel carries every queue's pushes.
   */
  async listen(
    _queues: readonly string[],
    onQueue: (queue: string | undefined) => void,
    report: (error: unknown) => void,
  ): Promise<() => Promise<void>> {
    const style = dialect.wakeUpStyle(this.engine);
    if (style === 'listen-notify') return listenForJobs(this.knex, this.table, onQueue, report);
    if (style === 'watch-file')
      return watchSqliteFile(
        (this.config.connection as { filename: string }).filename,
        () => onQueue(undefined),
        report,
      );
    return async () => undefined;
  }

  /** Registers a worker process in the workers table (again, if it had been presumed dead). */
  registerWorker(worker: WorkerRegistration): Promise<void> {
    return this.run(
      () => registerWorker(this.knex, this.engine, this.config.workersTable, worker, this.lapse()),
      this.config.workersTable,
    );
  }

  /** One heartbeat; false when the worker had been presumed dead and its row removed. */
  heartbeat(workerId: string, heldIds: readonly string[]): Promise<boolean> {
    return this.run(
      () =>
        retryLocks(() => heartbeat(this.knex, this.engine, this.heartbeatTables(), workerId, heldIds, this.lapse())),
      this.config.workersTable,
    );
  }

  /** Removes a worker's row on a clean exit. */
  deregisterWorker(workerId: string): Promise<void> {
    return this.run(() => deregisterWorker(this.knex, this.config.workersTable, workerId), this.config.workersTable);
  }

  /** Makes the jobs of workers whose heartbeat lapsed claimable again (never the sweeper's own). */
  sweepDeadWorkers(sweeperId?: string): Promise<SweptWorkers> {
    // Each worker's verdict and take-back is one transaction, rolled back whole and retried on a deadlock.
    return this.run(
      () => sweepDeadWorkers(this.knex, this.engine, this.heartbeatTables(), sweeperId),
      this.config.workersTable,
    );
  }

  /** Registered workers, oldest first. */
  workers(): Promise<WorkerRow[]> {
    return this.run(() => listWorkers(this.knex, this.config.workersTable), this.config.workersTable);
  }

  /** The restart counter and this connection's paused queues. */
  controls(): Promise<Controls> {
    return this.run(
      () => readControls(this.knex, this.config.controlsTable, this.connectionName),
      this.config.controlsTable,
    );
  }

  /** Asks every worker on this database to exit after its in-flight jobs. */
  requestRestart(): Promise<void> {
    return this.run(() => requestRestart(this.knex, this.engine, this.config.controlsTable), this.config.controlsTable);
  }

  /** Pauses one queue of this connection; false when it was already paused. */
  pause(queue: string): Promise<boolean> {
    return this.run(
      () => pauseQueue(this.knex, this.engine, this.config.controlsTable, this.connectionName, queue),
      this.config.controlsTable,
    );
  }

  /** Resumes one queue of this connection; false when it was not paused. */
  resume(queue: string): Promise<boolean> {
    return this.run(
      () => resumeQueue(this.knex, this.config.controlsTable, this.connectionName, queue),
      this.config.controlsTable,
    );
  }

  fail(job: ReservedJob, record: FailedJobRecord, store: FailedJobStore, within?: FinishingWrites): Promise<boolean> {
    if (store instanceof DatabaseFailedJobStore && store.knex === this.knex) {
      // Same database: the failed record and the delete commit together, fenced on the lease.
      return this.run(() =>
        retryLocks(() =>
          this.knex.transaction(async (trx) => {
            if (!(await deleteReservedJob(trx, this.engine, this.table, job))) return false;
            await insertFailedJob(trx, store.table, record);
            await within?.(trx);
            return true;
          }),
        ),
      );
    }
    // Another database: record first (the same job logged again is stored once), so a crash in between loses nothing.
    return store.log(record).then(() => this.delete(job, within));
  }

  async push(request: PushRequest): Promise<string> {
    const [id] = await this.bulk([request]);
    return id!;
  }

  release(job: ReservedJob, delaySeconds: number, exceptions: number): Promise<boolean> {
    return this.run(() =>
      retryLocks(() => releaseReservedJob(this.knex, this.engine, this.table, job, delaySeconds, exceptions)),
    );
  }

  /** The server's engine and version, read once; warns when claims must take plain locks. */
  server(): Promise<ServerInfo> {
    this.serverInfo ??= detectServer(this.knex, this.engine).then((info) => {
      if (dialect.claimsWaitOnLocks(info)) {
        this.warn(
          `Queue connection [${this.connectionName}]: server ${info.version} has no SKIP LOCKED; ` +
            'claims take plain row locks and several workers will wait on each other. Use MySQL ≥ 8.0.1, MariaDB ≥ 10.6 or PostgreSQL ≥ 9.5.',
        );
      }
      return info;
    });
    this.serverInfo.catch(() => (this.serverInfo = undefined));
    return this.serverInfo;
  }

  /**
   * Puts back the queue's reservations older than `retryAfter` (their worker is presumed dead);
   * unless `now`, at most once a second. True when any came back. The claim itself then reads
   * only ready rows, by index.
   */
  private async releaseExpired(queue: string, now: boolean): Promise<boolean> {
    const at = Date.now();
    if (!now && (this.expiredCheckedAt.get(queue) ?? 0) > at - EXPIRED_CHECK_MS) return false;
    this.expiredCheckedAt.set(queue, at);
    try {
      const released = await retryLocks(() =>
        releaseExpiredReservations(this.knex, this.engine, this.table, queue, this.config.retryAfter),
      );
      // Taken back from a worker whose lease lapsed, as a sweep does: counted here, from the
      // update's own row count, so the claim path pays no extra statement for it.
      if (released > 0) processMetrics?.recovered(this.connectionName, queue, released);
      return released > 0;
    } catch (error) {
      // Contended: the next look (within a second, or the next short claim) tries again.
      if (isRetryableLock(error)) return false;
      throw error;
    }
  }

  /**
   * Bounds how long each later statement waits for another process's lock, on an engine whose
   * driver waits synchronously (SQLite: a thread that must act by a deadline cannot let a wait
   * outlast it). Elsewhere statements wait asynchronously, and this does nothing.
   */
  async limitLockWaits(ms: number): Promise<void> {
    const sql = dialect.lockWaitSql(this.engine, ms);
    if (sql) await this.knex.raw(sql);
  }

  /** The jobs of `ids` still reserved by worker `leaseToken`, with their payloads. */
  reservedJobs(leaseToken: string, ids: readonly string[]): Promise<ReservedJob[]> {
    return this.run(() => findReservedJobs(this.knex, this.engine, this.table, leaseToken, ids));
  }

  /** The engine's plan for finding a queue's next jobs (see explainClaim): what `npm run bench` prints per engine. */
  explainClaim(queue: string): Promise<string> {
    return this.run(async () => explainClaim(this.knex, await this.server(), { table: this.table, queue, limit: 1 }));
  }

  size(queue: string): Promise<number> {
    return this.run(() => countJobs(this.knex, this.table, queue));
  }

  /** A queue's jobs by state (pending, delayed, reserved) and the age of its oldest pending job. */
  stats(queue: string): Promise<QueueStats> {
    return this.run(() => queueStats(this.knex, this.engine, this.table, queue));
  }

  /** Runs a read of this connection's inspector (the dashboard's), its errors named as the queue's own. */
  inspect<T>(operation: () => Promise<T>): Promise<T> {
    return this.run(operation);
  }

  private lapse(): number {
    return this.config.heartbeat === false ? 0 : this.config.heartbeat.lapse;
  }

  private heartbeatTables() {
    return { jobs: this.table, workers: this.config.workersTable };
  }

  private async run<T>(operation: () => Promise<T>, table = this.table): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw describeDatabaseError(error, this.connectionName, this.config, table);
    }
  }
}

function byHolder(jobs: readonly ReservedJob[]): Map<string, ReservedJob[]> {
  const groups = new Map<string, ReservedJob[]>();
  for (const job of jobs) {
    const group = groups.get(job.reservedBy);
    if (group) group.push(job);
    else groups.set(job.reservedBy, [job]);
  }
  return groups;
}
