/** A stored job's state as the dashboard lists it: finished jobs are deleted, failed ones live in `failed_jobs`. */
export type JobState = 'pending' | 'delayed' | 'reserved';

/** The job states a dashboard lists, in display order. */
export const JOB_STATES: readonly JobState[] = ['pending', 'delayed', 'reserved'];

/** One queue's counts as a dashboard shows them, each counted up to a cap. */
export interface QueueSnapshot {
  readonly name: string;
  /** Available now and not reserved. */
  readonly pending: number;
  /** Not available yet (a delay or a backoff). */
  readonly delayed: number;
  /** Claimed by a worker. */
  readonly reserved: number;
  /** True when a count stopped at the cap: the true number is at least the one shown. */
  readonly capped: boolean;
  /** Seconds since the oldest pending job became available (the store's clock), or null when none is pending. */
  readonly oldestPendingAge: number | null;
  /** Whether workers skip this queue (`queue:pause`). */
  readonly paused: boolean;
}

/** Which jobs to list: one state, optionally one queue and one job name, a page at a time. */
export interface JobFilter {
  readonly state: JobState;
  readonly queue?: string;
  /** The job's registered (display) name, as the payload's `displayName` holds it. */
  readonly job?: string;
  /** Opaque: the `next` of the page before, to continue after it. */
  readonly cursor?: string;
  readonly limit: number;
}

/** A stored job as a dashboard shows it. Times are unix seconds on the store's clock. */
export interface InspectedJob {
  readonly id: string;
  readonly queue: string;
  readonly state: JobState;
  /** The payload's `displayName`, or null when the payload could not be read. */
  readonly name: string | null;
  readonly attempts: number;
  readonly exceptions: number;
  readonly createdAt: number;
  readonly availableAt: number;
  readonly reservedAt: number | null;
  /** The lease token (worker id) of the claim holding it. */
  readonly reservedBy: string | null;
  /** The raw payload text as stored (callers redact before showing it). */
  readonly payload: string;
}

/** One page of jobs; `next` continues after it, null at the end. */
export interface JobPage {
  readonly jobs: readonly InspectedJob[];
  readonly next: string | null;
}

/** A registered worker process. Times are unix seconds on the store's clock. */
export interface InspectedWorker {
  readonly id: string;
  readonly name: string;
  readonly connection: string;
  readonly queues: readonly string[];
  readonly hostname: string;
  readonly pid: number;
  readonly concurrency: number;
  readonly startedAt: number;
  readonly lastHeartbeatAt: number;
  /** When the worker is presumed dead without another heartbeat. */
  readonly expiresAt: number;
  /** Its heartbeat lapsed and its jobs were not taken back yet. */
  readonly lost: boolean;
  /** Ids of the jobs it holds now (its busy slots, claimed-but-not-started prefetch included). */
  readonly jobs: readonly string[];
}

/**
 * What a dashboard reads of one queue connection's store, without scanning its jobs: queue names
 * come from indexes or a small registry, counts stop at a cap, listings walk an index from a
 * cursor. A driver whose queue is a `WorkerQueue` provides one; the connection's own `pause`,
 * `resume` and `clear` do the changes. This seam is internal and may change in minor versions;
 * members are kept in alphabetical order.
 */
export interface QueueInspector {
  readonly connectionName: string;
  /** One job by id, or undefined when it is not stored (finished, failed or never there). */
  job(id: string): Promise<InspectedJob | undefined>;
  /**
   * Jobs in one state, oldest first (pending and delayed by when they are due, reserved by claim
   * time). Filtered by job name, a call looks through a bounded number of jobs, so its page may
   * hold fewer than `limit` with a `next` to go on. A malformed cursor or limit is a RangeError.
   */
  jobs(filter: JobFilter): Promise<JobPage>;
  /** The store's clock, unix seconds (fractions allowed). */
  now(): Promise<number>;
  /** One queue's counts, each stopping at `cap`. */
  queue(name: string, cap: number): Promise<QueueSnapshot>;
  /**
   * The names of queues that hold jobs, are paused, or are served by a registered worker, sorted;
   * found without reading every job.
   */
  queueNames(): Promise<string[]>;
  /** Registered workers, live and lost, oldest first. */
  workers(): Promise<InspectedWorker[]>;
}
