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
  /** Stop (status 12) when the process uses more than this many megabytes. Default 128. */
  memory: number;
  /** Seconds to rest between jobs. Default 0. */
  rest: number;
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
  memory: 128,
  rest: 0,
};
