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

/** Where failed jobs are kept (`failed_jobs`, or nowhere). */
export interface FailedJobStore {
  /** Every failed job, newest first. */
  all(): Promise<StoredFailedJob[]>;
  count(): Promise<number>;
  close(): Promise<void>;
  find(uuid: string): Promise<StoredFailedJob | undefined>;
  forget(uuid: string): Promise<boolean>;
  /** Records a failure once: a second record with the same uuid changes nothing. */
  log(record: FailedJobRecord): Promise<void>;
}
