/** A job that ran out of chances, as `failed_jobs` stores it. */
export interface FailedJobRecord {
  readonly uuid: string;
  readonly connection: string;
  readonly queue: string;
  readonly payload: string;
  /** The error's stack (or message), as Laravel stores the exception text. */
  readonly exception: string;
}

/** A stored failed job, with the store's id and time. */
export interface StoredFailedJob extends FailedJobRecord {
  readonly id: string;
  readonly failedAt: Date;
}

/** Narrows `all()`: every condition given must hold. */
export interface FailedJobFilter {
  /** Only jobs that failed on this queue (whatever their connection), as `queue:retry --queue`. */
  readonly queue?: string;
  /** Only jobs whose store id lies in this inclusive range, as `queue:retry --range=3-7`. */
  readonly idRange?: readonly [from: number, to: number];
}

/**
 * Where failed jobs are kept (`failed_jobs`, or nowhere). A `key` is the job's uuid or, when
 * all digits, the store's numeric id: operators read either off `queue:failed`.
 */
export interface FailedJobStore {
  /** Failed jobs, newest first; all of them without a filter. */
  all(filter?: FailedJobFilter): Promise<StoredFailedJob[]>;
  count(): Promise<number>;
  close(): Promise<void>;
  find(key: string): Promise<StoredFailedJob | undefined>;
  /**
   * Deletes every record, or with `hours` only those that failed at least that many hours ago
   * (database clock); resolves to how many were deleted.
   */
  flush(hours?: number): Promise<number>;
  forget(key: string): Promise<boolean>;
  /**
   * Records a failure. The same job (uuid, connection, queue and payload) logged again is stored
   * once; another job whose uuid is already taken is kept too, under a fresh uuid: a failure is
   * never dropped.
   */
  log(record: FailedJobRecord): Promise<void>;
}

/** Which failed jobs a dashboard lists, counts or retries: every condition given must hold. */
export interface FailedJobSearch {
  readonly connection?: string;
  readonly queue?: string;
  /** The job's registered (display) name, as the payload's `displayName` holds it. */
  readonly job?: string;
  /** Text the stored exception contains (case-sensitive). */
  readonly text?: string;
}

/** A count that may have stopped early: `capped` means "at least `count`". */
export interface CappedCount {
  readonly count: number;
  readonly capped: boolean;
}

/** One page of failed jobs, newest first; `next` continues after it, null at the end. */
export interface FailedJobPage {
  readonly jobs: readonly StoredFailedJob[];
  readonly next: string | null;
}

/**
 * The dashboard's reads of a failed-jobs store, served by its indexes: pages walk from a cursor,
 * counts stop at a cap. This seam is internal and may change in minor versions.
 */
export interface FailedJobBrowser {
  /**
   * How many records match, counting no further than `cap`. `capped` says the true number may be
   * higher ("100k+"): more than `cap` matched, or, searching by `text`, the count looked through
   * its bound of records (the newest ones the other conditions match) and stopped there.
   */
  countUpTo(search: FailedJobSearch, cap: number): Promise<CappedCount>;
  /**
   * A page of matching records, newest first; `cursor` is the `next` of the page before. A search
   * by exception text looks through a bounded number of records per call, so its page may hold
   * fewer than `limit` with a `next` to go on. A malformed cursor or limit is a RangeError.
   */
  page(search: FailedJobSearch, limit: number, cursor?: string): Promise<FailedJobPage>;
  /** The (connection, queue) pairs that failed records exist for, sorted; found without reading every record. */
  queues(): Promise<Array<{ connection: string; queue: string }>>;
}
