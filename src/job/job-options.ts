/**
 * Options a job class declares with `@Job(...)`, overridable per dispatch. They are frozen into
 * the payload at dispatch, as Laravel does: changing the class later does not change queued jobs.
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
   * Seal the job's data with AES-256-GCM under the configured key (Laravel's ShouldBeEncrypted).
   * A queued job of this class whose data is plaintext or fails authentication is refused.
   */
  encrypted?: boolean;
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
  'encrypted',
];
