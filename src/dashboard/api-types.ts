// The JSON bodies of the dashboard's HTTP API (`<base>/api/...`): what the pages render and what
// scripts read. Times are unix seconds; ages and durations are seconds unless a name says ms.
// Counts are capped (`capped: true` means "at least").

import type { JobState } from '../contracts/queue-inspector.js';

/**
 * A connection the dashboard could not read (server down, client package missing): the other
 * connections' figures still answer, and this names the one left out.
 */
export interface ConnectionErrorBody {
  connection: string;
  /** What failed, naming the connection and its host:port where the config gives one. */
  message: string;
}

/** `GET api/overview`. */
export interface OverviewBody {
  /** `running` (a live worker), `paused` (every served queue paused), `inactive` (no live worker). */
  status: 'running' | 'paused' | 'inactive';
  /** Attempts finished (completed + failed) per minute over the last 5 minutes of the rollup. */
  jobsPerMinute: number;
  /** Jobs failed for good in the last hour (the rollup). */
  failedLastHour: number;
  /** The queue whose oldest pending job has waited longest, and how long. */
  longestWait: { connection: string; queue: string; seconds: number } | null;
  /** Most completed attempts in the last hour. */
  busiestQueue: { connection: string; queue: string; jobsPerMinute: number } | null;
  /** Highest mean run time in the last hour. */
  slowestQueue: { connection: string; queue: string; runtimeMs: number } | null;
  workers: { live: number; lost: number; busySlots: number; slots: number };
  pending: number;
  delayed: number;
  reserved: number;
  failed: number;
  capped: boolean;
  /** Connections left out of these figures because reading them failed. */
  errors?: ConnectionErrorBody[];
}

/** One row of `GET api/queues` (every connection that workers claim from). */
export interface QueueBody {
  connection: string;
  name: string;
  pending: number;
  delayed: number;
  reserved: number;
  /** Records in the failed-jobs store for this connection and queue (capped). */
  failed: number;
  capped: boolean;
  oldestPendingAge: number | null;
  paused: boolean;
}

/** One job in `GET api/jobs` and `GET api/jobs/:connection/:id`. */
export interface JobBody {
  connection: string;
  id: string;
  queue: string;
  state: JobState | 'failed';
  name: string | null;
  /** Attempts so far; null for a failed job (the failed-jobs store keeps no attempt count). */
  attempts: number | null;
  createdAt: number | null;
  availableAt: number | null;
  reservedAt: number | null;
  reservedBy: string | null;
  /** Failed jobs only. */
  failedAt?: number;
  /** Failed jobs only: the exception text (message and stack). */
  exception?: string;
  /** Detail only: the payload with `redact` keys replaced by "[redacted]". */
  payload?: unknown;
  /** Detail only: the batch this job belongs to. */
  batchId?: string | null;
  /** Detail only: display names of the chain's jobs still to run. */
  chained?: string[];
  /** Failed jobs only: the failed-jobs store's uuid (what retry and forget take). */
  uuid?: string;
}

/** `GET api/jobs` and `GET api/failed`: a page and where the next starts. */
export interface PageBody<T> {
  items: T[];
  next: string | null;
  /** Matching rows, counted up to the cap (failed only). */
  total?: number;
  capped?: boolean;
  /** The connection whose jobs were asked for, when reading it failed (items is then empty). */
  errors?: ConnectionErrorBody[];
}

/** One row of `GET api/batches`. */
export interface BatchBody {
  id: string;
  name: string;
  totalJobs: number;
  pendingJobs: number;
  failedJobs: number;
  processedJobs: number;
  /** 0–100. */
  progress: number;
  failedJobIds: string[];
  createdAt: number;
  finishedAt: number | null;
  cancelledAt: number | null;
}

/** One row of `GET api/workers`. */
export interface WorkerBody {
  connection: string;
  id: string;
  name: string;
  hostname: string;
  pid: number;
  queues: string[];
  concurrency: number;
  busySlots: number;
  startedAt: number;
  heartbeatAge: number;
  status: 'live' | 'lost';
  jobs: string[];
}

/** `GET api/metrics?range=1h|24h|7d[&queue=][&job=]`: series per queue and per job name. */
export interface MetricsBody {
  range: '1h' | '24h' | '7d';
  /** Seconds per point. */
  step: number;
  since: number;
  until: number;
  /** Point start times (unix seconds), shared by every series. */
  times: number[];
  queues: MetricsSeries[];
  jobs: MetricsSeries[];
  /** Connections whose rollup could not be read, left out of these series. */
  errors?: ConnectionErrorBody[];
}

/** One queue's or one job name's figures over the range. */
export interface MetricsSeries {
  connection: string;
  /** Queue name or job name. */
  name: string;
  /** Per point: completed + failed attempts per minute. */
  throughput: number[];
  /** Per point: failed / (completed + failed), 0–1, or null with no attempts. */
  failureRate: (number | null)[];
  totals: {
    completed: number;
    failed: number;
    released: number;
    runtimeP50Ms: number | null;
    runtimeP95Ms: number | null;
    waitP95Ms: number | null;
  };
}

/** The body of every mutation's answer. */
export interface ActionBody {
  ok: boolean;
  /** What happened, in words a page can show ("Retried 6 jobs"). */
  message: string;
  count?: number;
  /** "Retry all matching" stopped at its per-request limit and more records match: post it again. */
  more?: boolean;
}

/** Every error answer: what went wrong and, for auth, which option to set. */
export interface ErrorBody {
  error: string;
  option?: string;
}

/** One job of `POST api/queues/:queue/jobs`'s answer, in the order sent. */
export interface PushedJobBody {
  /** The client's own id for the job, when it sent one. */
  id: string | null;
  /** The registered job name. */
  job: string;
  connection: string;
  queue: string;
  /** The queued job's id in its store; null when nothing was queued (see `skipped`). */
  jobId: string | null;
  /** True when this client id was pushed before: the first push's answer, nothing new queued. */
  replayed: boolean;
  /** `unique`: not queued, because another job holds the job's unique lock. */
  skipped?: 'unique';
}

/** `POST api/queues/:queue/jobs`: 201 when something was queued, 200 when every job was a replay or skipped. */
export interface PushBody {
  ok: true;
  jobs: PushedJobBody[];
}
