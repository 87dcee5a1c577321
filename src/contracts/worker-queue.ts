import type { FailedJobRecord, FailedJobStore } from './failed-job-store.js';
import type { Queue, StoreTransaction } from './queue.js';
import type { ReservedJob } from './reserved-job.js';

/**
 * Writes committed in the same store transaction as a job's finishing write (a chain's next job,
 * a batch's count). Only stores for which the queue's `sharesStoreWith` is true may write in it.
 */
export type FinishingWrites = (trx: StoreTransaction) => Promise<void>;

/** What workers poll: the restart counter and the queues paused on their connection. */
export interface Controls {
  /** Changes each time `queue:restart` is asked; a worker exits when it differs from the value it started with. */
  restart: number;
  /** This connection's paused queues. */
  paused: string[];
}

/** What a worker says about itself when it registers. */
export interface WorkerRegistration {
  /** The worker's id, also the lease token of every job it claims. */
  id: string;
  name: string;
  connection: string;
  queues: string[];
  hostname: string;
  pid: number;
  concurrency: number;
}

/** How long a claim stays a worker's: the connection's `heartbeat` and `retryAfter` settings. */
export interface LeaseSettings {
  /**
   * Seconds between heartbeats, and after the last one at which a worker is presumed dead; or
   * false, when only `retryAfter` protects a reservation.
   */
  readonly heartbeat: { readonly interval: number; readonly lapse: number } | false;
  /** Seconds after which a reservation is taken back whatever its worker does (heartbeats renew it). */
  readonly retryAfter: number;
}

/** A queue's jobs by state, and how long its oldest available job has waited. */
export interface QueueStats {
  /** Every job on the queue: pending, delayed and reserved. */
  size: number;
  /** Available now and not reserved. */
  pending: number;
  /** Not available yet (dispatched with a delay, or released with a backoff). */
  delayed: number;
  /** Claimed by a worker. */
  reserved: number;
  /** Seconds since the oldest pending job was created (the store's clock), or null when none is pending. */
  oldestPendingAge: number | null;
}

/**
 * A queue connection whose jobs workers claim: everything `queue:work`, its monitor thread and the
 * watchdog need, and what operators change while workers run (pause, resume, restart). A driver
 * that stores jobs implements it; `sync` and `null` do not.
 *
 * Rules every driver keeps:
 * - **Fencing.** A claim stamps each job with the claimer's lease token (`reservedBy`); every
 *   finishing write (`delete`, `deleteMany`, `release`, `fail`, `unclaim`) changes a job only while
 *   it is still reserved under that token, and reports whether it did. A worker that lost its
 *   lease (swept, or its reservation expired and another claim took the job) changes nothing.
 * - **One clock.** Delays, reservation ages, heartbeats and lapses are measured on the store's
 *   clock, never by comparing the callers' clocks.
 * - **Atomic claims.** Of concurrent claimers, each job goes to exactly one.
 *
 * This seam is internal and may change in minor versions until it settles; members are kept in
 * alphabetical order.
 */
export interface WorkerQueue extends Queue {
  /**
   * Claims up to `limit` jobs of `queue` that are available now (the store's clock), oldest due
   * first, stamping each with `leaseToken` and counting its attempt. Atomic: no job goes to two
   * claimers. Reservations older than `retryAfter` count as available again (their attempt kept).
   */
  claim(queue: string, limit: number, leaseToken: string): Promise<ReservedJob[]>;
  /** The restart counter and this connection's paused queues. */
  controls(): Promise<Controls>;
  /**
   * Deletes a finished job if it is still reserved under its lease token; false when it was not
   * (and then nothing changed). With `within`, those writes commit in the same store transaction
   * as the delete, or neither does; callers pass it only for stores `sharesStoreWith` accepts.
   */
  delete(job: ReservedJob, within?: FinishingWrites): Promise<boolean>;
  /**
   * Deletes many finished jobs in as few writes as the store allows, each only if still reserved
   * under its own lease token; resolves to the ids that were held (and are now gone).
   */
  deleteMany(jobs: readonly ReservedJob[]): Promise<Set<string>>;
  /** Removes a worker's registration on a clean exit. */
  deregisterWorker(workerId: string): Promise<void>;
  /**
   * Ends a job that failed for good: records `record` in `store` and deletes the job, fenced on
   * its lease. When `sharesStoreWith(store)`, the record, the delete and `within` commit in one
   * store transaction; otherwise the record is written first (the same job logged twice is stored
   * once), so a crash in between loses nothing. False when the lease was lost (and, in one
   * transaction, nothing was recorded).
   */
  fail(job: ReservedJob, record: FailedJobRecord, store: FailedJobStore, within?: FinishingWrites): Promise<boolean>;
  /**
   * One heartbeat: pushes the worker's presumed-dead time to `lapse` from now and renews the
   * reservations of `heldIds` that are still the worker's, so `retryAfter` never takes back a job
   * of a live worker. False when the worker's registration was gone (a sweep presumed it dead and
   * took its jobs back): the caller registers again and treats every earlier claim as lost.
   */
  heartbeat(workerId: string, heldIds: readonly string[]): Promise<boolean>;
  /** This connection's lease settings (`heartbeat`, `retryAfter`). */
  readonly leases: LeaseSettings;
  /**
   * Bounds how long each later write on this connection waits for another process's lock, where
   * the store's client waits synchronously (a thread that must act by a deadline cannot let a
   * wait outlast it). Elsewhere it does nothing.
   */
  limitLockWaits(ms: number): Promise<void>;
  /**
   * Calls `onQueue` when a job may have been pushed by any process: with its queue, or with
   * `undefined` for any queue. `queues` are the worker's: a store that must wait on each queue
   * (Redis, blocking on their notify lists) hears only those; others may ignore them and report
   * any queue. A store without such a channel never calls it (workers poll). Failures of the
   * channel go to `report`. Resolves to a function that stops listening.
   */
  listen(
    queues: readonly string[],
    onQueue: (queue: string | undefined) => void,
    report: (error: unknown) => void,
  ): Promise<() => Promise<void>>;
  /** Pauses one queue of this connection for every worker; false when it was already paused. */
  pause(queue: string): Promise<boolean>;
  /**
   * Whether a connection opened from the same configuration in another thread reaches the same
   * jobs: the monitor thread (heartbeats, sweep, watchdog) opens its own. False for a store that
   * lives in this connection only (an in-memory SQLite database); its worker runs unmonitored.
   */
  readonly reachableFromOtherThreads: boolean;
  /**
   * Registers a worker alive for `lapse` seconds from now (the store's clock), or registers it
   * again after it was presumed dead.
   */
  registerWorker(worker: WorkerRegistration): Promise<void>;
  /**
   * Puts a job back, available again `delaySeconds` from now (the store's clock), recording its
   * exception count; its attempt stays counted. Fenced: false when the lease was lost.
   */
  release(job: ReservedJob, delaySeconds: number, exceptions: number): Promise<boolean>;
  /** Asks every worker on this connection's store to exit after its in-flight jobs. */
  requestRestart(): Promise<void>;
  /** The jobs of `ids` still reserved under `leaseToken`, with their payloads (what the watchdog blames). */
  reservedJobs(leaseToken: string, ids: readonly string[]): Promise<ReservedJob[]>;
  /** Resumes one queue of this connection; false when it was not paused. */
  resume(queue: string): Promise<boolean>;
  /** A queue's jobs by state and the age of its oldest pending job (`queue:monitor`). */
  stats(queue: string): Promise<QueueStats>;
  /**
   * Takes back the jobs of workers whose heartbeat lapsed (never `sweeperId`'s own): they become
   * claimable at once with their attempt still counted. Per worker, the verdict and the take-back
   * are atomic, so a worker that beats in between either keeps its row and jobs or learns it lost
   * both. Resolves to the workers found dead and how many jobs came back, in all and per queue.
   */
  sweepDeadWorkers(sweeperId?: string): Promise<SweptWorkers>;
  /**
   * Gives back jobs claimed but never started, each only if still reserved under its own lease
   * token: their attempt is returned, and they are claimable again `delaySeconds` from now.
   * Resolves to how many were still held.
   */
  unclaim(jobs: readonly ReservedJob[], delaySeconds?: number): Promise<number>;
}

/** Whether a connection's queue is one workers can claim from (the `database` driver's; not `sync` or `null`). */
export function isWorkerQueue(queue: Queue): queue is WorkerQueue {
  return typeof (queue as Partial<WorkerQueue>).claim === 'function';
}

/** What a sweep of dead workers did (`WorkerQueue.sweepDeadWorkers`). */
export interface SweptWorkers {
  /** The workers found dead, their rows removed. */
  workers: string[];
  /** How many jobs came back from them. */
  jobs: number;
  /** The jobs that came back per queue (queues with none absent), for `errand_jobs_recovered_total`. */
  byQueue: Record<string, number>;
}
