import type { JobState } from '../contracts/queue-inspector.js';
import type {
  ActionBody,
  BatchBody,
  ConnectionErrorBody,
  JobBody,
  MetricsBody,
  OverviewBody,
  PageBody,
  QueueBody,
  WorkerBody,
} from './api-types.js';

/** `GET api/jobs`: one state's jobs, filtered, a page at a time. */
export interface JobsQuery {
  readonly state: JobState;
  /** Default: the config's default connection. */
  readonly connection?: string;
  readonly queue?: string;
  /** A registered (display) job name. */
  readonly job?: string;
  readonly cursor?: string;
  readonly limit?: number;
}

/** `GET api/failed` and `POST api/failed/retry`'s filter: every condition given must hold. */
export interface FailedQuery {
  readonly connection?: string;
  readonly queue?: string;
  readonly job?: string;
  /** Text the exception contains. */
  readonly text?: string;
  readonly cursor?: string;
  readonly limit?: number;
}

/**
 * Rows read from every connection, and the connections that could not be read: `GET api/queues`
 * and `GET api/workers` answer `items` as their JSON array and `errors` in the
 * `Errand-Connection-Errors` header (a JSON array), so the body stays what clients already read.
 */
export interface Listed<T> {
  items: T[];
  errors: ConnectionErrorBody[];
}

/** `GET api/metrics`. */
export interface MetricsQueryParams {
  readonly range: MetricsBody['range'];
  readonly queue?: string;
  readonly job?: string;
}

/**
 * What the dashboard reads, as the API's JSON bodies: the JSON routes answer with these, and the
 * page renderers call the same methods, so a page and `api/...` always show the same numbers.
 * A method that finds nothing throws a {@link DashboardHttpError} with status 404.
 */
export interface DashboardApi {
  /** The connections whose jobs workers claim (database and redis), the default first. */
  readonly connections: readonly string[];
  /** The config's default connection (what `connection` defaults to). */
  readonly defaultConnection: string;
  batch(id: string): Promise<BatchBody>;
  batches(cursor?: string, limit?: number): Promise<PageBody<BatchBody>>;
  failed(query: FailedQuery): Promise<PageBody<JobBody>>;
  /** One failed job with its payload (redacted) and exception. */
  failedJob(uuid: string): Promise<JobBody>;
  /** One stored job with its payload (redacted). */
  job(connection: string, id: string): Promise<JobBody>;
  jobs(query: JobsQuery): Promise<PageBody<JobBody>>;
  metrics(query: MetricsQueryParams): Promise<MetricsBody>;
  overview(): Promise<OverviewBody>;
  queues(): Promise<Listed<QueueBody>>;
  workers(): Promise<Listed<WorkerBody>>;
}

/** What `POST api/failed/retry` retries: these uuids, or every record matching a filter (empty: all). */
export type FailedSelection = { readonly uuids: readonly string[] } | { readonly filter: FailedQuery };

/**
 * The dashboard's changes (every `POST api/...` but the push API), each answering with the words a
 * page shows ("Retried 6 jobs"). The HTTP core refuses them when `readOnly`, cross-site or not POST.
 */
export interface DashboardActions {
  clearQueue(connection: string, queue: string): Promise<ActionBody>;
  flushFailed(): Promise<ActionBody>;
  forgetFailed(uuid: string): Promise<ActionBody>;
  pauseQueue(connection: string, queue: string): Promise<ActionBody>;
  resumeQueue(connection: string, queue: string): Promise<ActionBody>;
  retryBatch(id: string): Promise<ActionBody>;
  retryFailed(selection: FailedSelection): Promise<ActionBody>;
}

/** Everything the HTTP core needs of errand: its reads and its changes. */
export interface DashboardData extends DashboardApi, DashboardActions {}

/** An answer other than 200 with the {@link ErrorBody} it carries; `option` names the setting at fault. */
export class DashboardHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly option?: string,
  ) {
    super(message);
    this.name = 'DashboardHttpError';
  }
}
