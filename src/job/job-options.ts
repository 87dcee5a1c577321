/**
 * Options a job class declares with `@Job(...)`. A job may also set most of them on itself, as a
 * property or method (see INSTANCE_OPTION_NAMES), which wins over the class; `.options()` on a
 * dispatch wins over both. They are frozen into the payload at dispatch, as Laravel does:
 * changing the class later does not change queued jobs.
 */
export interface JobOptions {
  /** The name stored in payloads; default the class name. Set it when a minifier renames classes. */
  name?: string;
  connection?: string;
  queue?: string;
  /** Attempts allowed; 0 means unlimited. Default: the worker's `--tries` (1). */
  tries?: number;
  /** Fail after this many thrown exceptions even when releases left tries over. */
  maxExceptions?: number;
  /** Seconds an attempt may run; 0 disables. Default: the worker's `--timeout` (60). */
  timeout?: number;
  /** Fail at once on timeout instead of spending an attempt. */
  failOnTimeout?: boolean;
  /** Seconds before a retry: one value, or one per attempt (the last repeats). */
  backoff?: number | number[];
  /**
   * Retry until this instant instead of counting tries: a Date, seconds after dispatch, or a
   * function of the job returning either.
   */
  retryUntil?: Date | number | ((job: any) => Date | number);
  /**
   * When a model the job holds no longer exists, delete the job quietly instead of failing it
   * (Laravel's `$deleteWhenMissingModels`).
   */
  deleteWhenMissingModels?: boolean;
  /**
   * Only one job with this class and unique id may be queued (or running) at a time (Laravel's
   * `ShouldBeUnique`): a dispatch while the lock is held pushes nothing and resolves to null.
   * Applies to `dispatch()`, not to `Queue.bulk`, batches or `dispatchSync`.
   */
  unique?: boolean;
  /**
   * What makes two jobs "the same": a function of the job, or a fixed value. Default: the job's
   * own `uniqueId()` method or `uniqueId` property if it has one, else '' (one job per class).
   */
  uniqueId?: string | number | ((job: any) => string | number);
  /** Seconds after which the unique lock expires by itself, whatever became of the job; 0 (default): never. */
  uniqueFor?: number;
  /**
   * When the unique lock is released: `'done'` (default) once the job succeeds or fails for good,
   * `'processing'` just before `handle()` runs (Laravel's `ShouldBeUniqueUntilProcessing`).
   */
  uniqueUntil?: 'processing' | 'done';
  /**
   * Seal the job's data with AES-256-GCM under the configured key (Laravel's ShouldBeEncrypted).
   * A queued job of this class whose data is plaintext or fails authentication is refused.
   */
  encrypted?: boolean;
  /**
   * Inside a transaction (`Bus.withinTransaction`), push only once it commits and drop the job if
   * it rolls back. `.afterCommit()` / `.beforeCommit()` on a dispatch override it.
   */
  afterCommit?: boolean;
}

/** The option names, for validation messages. */
export const JOB_OPTION_NAMES: ReadonlyArray<keyof JobOptions> = [
  'name',
  'connection',
  'queue',
  'tries',
  'maxExceptions',
  'timeout',
  'failOnTimeout',
  'backoff',
  'retryUntil',
  'deleteWhenMissingModels',
  'unique',
  'uniqueId',
  'uniqueFor',
  'uniqueUntil',
  'encrypted',
  'afterCommit',
];
