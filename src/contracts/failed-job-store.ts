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
