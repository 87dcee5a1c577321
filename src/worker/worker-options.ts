/** How a worker runs; the defaults are Laravel's `queue:work` defaults. */
export interface WorkerOptions {
  /** The queue connection; default the configured default. */
  connection?: string;
  /** Queues in priority order: a job on the first always goes first. Default: the connection's queue. */
  queues?: string[];
  /** Attempts for jobs that set no `tries`. Default 1; 0 is unlimited. */
  tries: number;
  /** Seconds before a retry for jobs that set no `backoff`. Default 0. */
  backoff: number;
  /** Seconds to sleep when no job is available. Default 3. */
  sleep: number;
  /** Seconds an attempt may run for jobs that set no `timeout`; 0 disables. Default 60. */
  timeout: number;
  /** Process at most one job, then stop. */
  once: boolean;
  /** Stop when no job is available. */
  stopWhenEmpty: boolean;
  /** Stop after this many jobs; 0 for no limit. */
  maxJobs: number;
  /** Stop after this many seconds; 0 for no limit. */
  maxTime: number;
  /**
   * Stop (status 12) when the resident set (main and monitor threads) exceeds this many megabytes.
   * Default 256: an idle Node worker already holds ~90 MB, where PHP holds ~20 (decision 0011).
   */
  memory: number;
  /** Seconds to rest between jobs. Default 0. */
  rest: number;
  /** Jobs run at once in this process (async slots). Default 1. */
  concurrency: number;
  /**
   * Jobs claimed ahead of free slots into a local buffer; their leases are kept alive and they
   * are handed back (attempt not counted) on shutdown. Default 0.
   */
  prefetch: number;
  /** Stop once no job has been claimed for this many seconds; 0 for never. */
  stopWhenEmptyFor: number;
  /**
   * Seconds in-flight jobs may keep running after SIGTERM/SIGINT/SIGQUIT before their signals are
   * aborted. Default: the timeout (60 s when there is none).
   */
  grace?: number;
  /** The worker's name, shown in the workers table and events. Default `default`. */
  name: string;
}

/** Laravel's defaults for `queue:work`. */
export const WORKER_DEFAULTS: WorkerOptions = {
  tries: 1,
  backoff: 0,
  sleep: 3,
  timeout: 60,
  once: false,
  stopWhenEmpty: false,
  maxJobs: 0,
  maxTime: 0,
  memory: 256,
  rest: 0,
  concurrency: 1,
  prefetch: 0,
  stopWhenEmptyFor: 0,
  name: 'default',
};

/** The grace when the timeout is 0: "no limit" is no bound a stop (or a supervisor) can wait for. */
const UNLIMITED_TIMEOUT_GRACE = 60;

/**
 * Seconds in-flight jobs may keep running after SIGTERM/SIGINT/SIGQUIT before their signals
 * abort: the `grace` when set, else the `timeout` (a job may run that long), else 60. The worker
 * stops by it and the supervisor configs wait for it, so both read it here.
 */
export function graceSeconds(options: Pick<WorkerOptions, 'grace' | 'timeout'>): number {
  return options.grace ?? (options.timeout > 0 ? options.timeout : UNLIMITED_TIMEOUT_GRACE);
}

/** The queues a worker works, in priority order: those given, else the connection's default queue. */
export function queuesToWork(queues: string[] | undefined, defaultQueue: string): string[] {
  return queues?.length ? queues : [defaultQueue];
}
