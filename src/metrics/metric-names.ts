/**
 * The Prometheus families errand exports: one spec on every driver (docs/monitoring.md). Names
 * are in base units with `_total` on counters; labels are only `connection`, `queue`, `job` (the
 * registered job name), `host`, and a bounded `outcome` or `state`: never ids, payload values or
 * tenants, so the number of series does not grow with the jobs.
 */

/** How an attempt ended, as `errand_jobs_processed_total` and `errand_job_duration_seconds` label it. */
export type ProcessedOutcome = 'completed' | 'failed' | 'released' | 'timed_out' | 'lease_lost';

/** Every `outcome` label value, in the order docs list them. */
export const PROCESSED_OUTCOMES: readonly ProcessedOutcome[] = [
  'completed',
  'failed',
  'released',
  'timed_out',
  'lease_lost',
];

/** Seconds: run-time buckets, 5 ms to 5 minutes. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Seconds: wait (available → claimed) buckets, 5 ms to an hour. */
export const WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** The families' names. */
export const METRIC = {
  /** Counter {connection, queue, job}: jobs stored by dispatch, bulk, chains, batches, retries and the push API. */
  dispatched: 'errand_jobs_dispatched_total',
  /** Counter {connection, queue, job, outcome}: attempts that ended, by how. */
  processed: 'errand_jobs_processed_total',
  /** Histogram {connection, queue, job, outcome}: seconds an attempt ran. */
  duration: 'errand_job_duration_seconds',
  /** Histogram {connection, queue, job}: seconds from available to claimed. */
  wait: 'errand_job_wait_seconds',
  /** Counter {connection, queue}: jobs taken back from workers whose lease lapsed. */
  recovered: 'errand_jobs_recovered_total',
  /** Gauge {connection, queue, state}: jobs by state (pending, delayed, reserved), each count capped. */
  queueJobs: 'errand_queue_jobs',
  /** Gauge {connection, queue}: seconds since the oldest pending job became available; 0 when none. */
  oldestPendingAge: 'errand_queue_oldest_pending_age_seconds',
  /** Gauge {connection, queue}: 1 when the queue is paused. */
  paused: 'errand_queue_paused',
  /** Gauge {connection, queue}: failed jobs stored, capped. */
  failedJobs: 'errand_failed_jobs',
  /** Gauge {connection, host}: live workers (heartbeat within its lapse). */
  workers: 'errand_workers',
  /** Gauge {connection, host}: jobs held by live workers (busy slots, prefetch included). */
  busySlots: 'errand_worker_busy_slots',
  /** Gauge: 1 in the process that samples the depth gauges now, else 0. */
  depthSampler: 'errand_depth_sampler',
  /** Gauge {connection}: unix seconds of the last depth sample that succeeded. */
  depthSampledAt: 'errand_depth_last_sample_timestamp_seconds',
  /** Gauge {connection}: 1 when the connection's last depth sample succeeded, 0 when it failed (even if none ever did). */
  depthSampleUp: 'errand_depth_sample_up',
} as const;
