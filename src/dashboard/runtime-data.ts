import { connectionLabel } from '../config/connection-endpoint.js';
import type { CappedCount, FailedJobSearch, StoredFailedJob } from '../contracts/failed-job-store.js';
import type { MetricsRepository } from '../contracts/metrics-repository.js';
import type { QueueInspector, QueueSnapshot } from '../contracts/queue-inspector.js';
import type { WorkerQueue } from '../contracts/worker-queue.js';
import { openMetricsRepository, openQueueInspector } from '../drivers/connect.js';
import { retryFailedRecord, retryFailedRecords } from '../failed/retry-failed-job.js';
import type { ErrandRuntime } from '../runtime/current.js';
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
import { CountCache } from './count-cache.js';
import {
  type DashboardData,
  DashboardHttpError,
  type FailedQuery,
  type FailedSelection,
  type JobsQuery,
  type Listed,
  type MetricsQueryParams,
} from './dashboard-api.js';
import { batchBody, failedJobBody, jobBody, workerBody } from './job-bodies.js';
import { type ConnectionSamples, metricsBody, overviewMetrics, rangeWindow } from './metrics-bodies.js';

/** How the runtime data source counts, caches and redacts. */
export interface RuntimeDataSettings {
  readonly cap: number;
  readonly cacheMs: number;
  readonly redact: readonly string[];
  /** Failed records pushed in one bulk push per connection, then forgotten (default 500). */
  readonly retryChunk?: number;
  /** Most failed records one "retry all matching" request retries (default 10,000). */
  readonly retryLimit?: number;
}

const DEFAULT_LIMIT = 50;
/** Records read, bulk-pushed, then forgotten together when a filter selects them. */
const RETRY_CHUNK = 500;
/**
 * Records one "retry all matching" request retries: 100,000 matching records would hold one HTTP
 * request (and a proxy's timeout) for minutes; past this the answer says more match and the
 * operator retries again, each request continuing with what is left.
 */
const RETRY_LIMIT = 10_000;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Passes an inspector's refusal of a malformed cursor or limit on as a 400 naming it. */
async function asBadRequest<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof RangeError) throw new DashboardHttpError(400, error.message);
    throw error;
  }
}

/**
 * The dashboard's reads and changes over a booted errand: an inspector per connection whose jobs
 * workers claim, the failed-jobs browser, the batch repository and each store's metrics rollup.
 * Counts stop at a cap and are kept a few seconds; stores two connections share are read once
 * for workers and metrics.
 */
export class RuntimeDashboardData implements DashboardData {
  readonly connections: readonly string[];
  readonly defaultConnection: string;
  private readonly cache: CountCache;
  private readonly inspectors = new Map<string, QueueInspector>();
  private readonly metricsRepositories = new Map<string, MetricsRepository>();
  /** One connection per distinct store: workers and metrics are read once per store. */
  private readonly storeConnections: readonly string[];

  constructor(
    private readonly app: ErrandRuntime,
    private readonly settings: RuntimeDataSettings,
  ) {
    const { connections, default: defaultName } = app.config;
    const worked = Object.keys(connections).filter((name) => ['database', 'redis'].includes(connections[name]!.driver));
    this.defaultConnection = worked.includes(defaultName) ? defaultName : (worked[0] ?? defaultName);
    this.connections = [...worked].sort((a, b) =>
      a === this.defaultConnection ? -1 : b === this.defaultConnection ? 1 : a.localeCompare(b),
    );
    const distinct: string[] = [];
    for (const name of this.connections) {
      const queue = this.worker(name);
      if (!distinct.some((seen) => this.worker(seen).sharesStoreWith(queue))) distinct.push(name);
    }
    this.storeConnections = distinct;
    this.cache = new CountCache(settings.cacheMs);
  }

  /** `connection` and its host:port where the config names one, for an error to point at. */
  private named(connection: string): string {
    return connectionLabel(connection, this.app.config.connections[connection]);
  }

  private connectionError(connection: string, error: unknown): ConnectionErrorBody {
    const reason = error instanceof Error ? error.message : String(error);
    return { connection, message: `Could not read connection ${this.named(connection)}: ${reason}` };
  }

  /**
   * Runs `read` on each connection at once; a connection that throws (server down, client package
   * missing) is reported in `errors` instead of failing the whole answer.
   */
  private async perConnection<T>(
    connections: readonly string[],
    read: (connection: string) => Promise<T>,
  ): Promise<{ results: Map<string, T>; errors: ConnectionErrorBody[] }> {
    const settled = await Promise.allSettled(
      connections.map(async (connection) => [connection, await read(connection)] as const),
    );
    const results = new Map<string, T>();
    const errors: ConnectionErrorBody[] = [];
    settled.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') results.set(outcome.value[0], outcome.value[1]);
      else errors.push(this.connectionError(connections[i]!, outcome.reason));
    });
    return { results, errors };
  }

  private worker(connection: string): WorkerQueue {
    return this.app.queues.worker(connection);
  }

  private inspector(connection: string): QueueInspector {
    let inspector = this.inspectors.get(connection);
    if (!inspector) this.inspectors.set(connection, (inspector = openQueueInspector(this.worker(connection))));
    return inspector;
  }

  /** The rollup the workers of `connection`'s store write; none with `metrics: { enabled: false }`. */
  private metricsOf(connection: string): MetricsRepository | undefined {
    if (!this.app.config.metrics.enabled) return undefined;
    let repository = this.metricsRepositories.get(connection);
    if (!repository) {
      repository = openMetricsRepository(this.worker(connection), this.app.config.metrics);
      this.metricsRepositories.set(connection, repository);
    }
    return repository;
  }

  private failedCount(search: FailedJobSearch): Promise<CappedCount> {
    const key = `failed:${JSON.stringify(search)}`;
    return this.cache.get(key, () => this.app.queues.failedJobBrowser().countUpTo(search, this.settings.cap));
  }

  private snapshot(connection: string, queue: string): Promise<QueueSnapshot> {
    return this.cache.get(`queue:${connection}:${queue}`, () =>
      this.inspector(connection).queue(queue, this.settings.cap),
    );
  }

  /**
   * The store's clock, unix seconds: the default connection's, else the first connection that
   * answers (one connection down must not stop the pages), else this process's.
   */
  private async now(): Promise<number> {
    for (const connection of this.storeConnections.length > 0 ? this.storeConnections : [this.defaultConnection]) {
      try {
        return await this.inspector(connection).now();
      } catch {
        // reported by the reads that name the connection
      }
    }
    return Date.now() / 1000;
  }

  async queues(): Promise<Listed<QueueBody>> {
    const { results: found, errors } = await this.perConnection(this.connections, (connection) =>
      this.cache.get(`names:${connection}`, () => this.inspector(connection).queueNames()),
    );
    const names = new Map([...found].map(([connection, queues]) => [connection, new Set(queues)]));
    const failedQueues = await this.cache.get('failed-queues', () => this.app.queues.failedJobBrowser().queues());
    for (const { connection, queue } of failedQueues) names.get(connection)?.add(queue);
    const { results: rows, errors: late } = await this.perConnection([...names.keys()], (connection) =>
      Promise.all(
        [...names.get(connection)!].sort().map(async (name): Promise<QueueBody> => {
          const [snapshot, failed] = await Promise.all([
            this.snapshot(connection, name),
            this.failedCount({ connection, queue: name }),
          ]);
          return {
            connection,
            name,
            pending: snapshot.pending,
            delayed: snapshot.delayed,
            reserved: snapshot.reserved,
            failed: failed.count,
            capped: snapshot.capped || failed.capped,
            oldestPendingAge: snapshot.oldestPendingAge,
            paused: snapshot.paused,
          };
        }),
      ),
    );
    const items = this.connections.flatMap((connection) => rows.get(connection) ?? []);
    return { items, errors: [...errors, ...late] };
  }

  async workers(): Promise<Listed<WorkerBody>> {
    // Every connection, not one per store: an inspector lists only the workers registered under
    // its own connection's name, so two connections sharing one database each have their own.
    const { results, errors } = await this.perConnection(this.connections, async (connection) => {
      const inspector = this.inspector(connection);
      const [workers, now] = await Promise.all([inspector.workers(), inspector.now()]);
      return workers.map((worker) => workerBody(worker, now));
    });
    const seen = new Set<string>();
    const items: WorkerBody[] = [];
    for (const connection of this.connections) {
      for (const worker of results.get(connection) ?? []) {
        if (seen.has(worker.id)) continue;
        seen.add(worker.id);
        items.push(worker);
      }
    }
    return { items, errors };
  }

  private async samples(
    since: number,
    until: number,
    step: number,
    query: { queue?: string; job?: string } = {},
  ): Promise<{ stores: ConnectionSamples[]; errors: ConnectionErrorBody[] }> {
    const { results, errors } = await this.perConnection(
      this.storeConnections,
      async (connection) => (await this.metricsOf(connection)?.read({ since, until, step, ...query })) ?? [],
    );
    const stores = this.storeConnections
      .filter((connection) => results.has(connection))
      .map((connection): ConnectionSamples => ({ connection, samples: results.get(connection)! }));
    return { stores, errors };
  }

  async overview(): Promise<OverviewBody> {
    const now = await this.now();
    const minute = Math.floor(now / 60) * 60;
    const [listedQueues, listedWorkers, failed, rollup] = await Promise.all([
      this.queues(),
      this.workers(),
      this.failedCount({}),
      this.cache.get(`overview-metrics:${minute}`, () => this.samples(minute - 3540, minute + 60, 60)),
    ]);
    const queues = listedQueues.items;
    const workers = listedWorkers.items;
    const samples = rollup.stores;
    const errors = uniqueErrors([...listedQueues.errors, ...listedWorkers.errors, ...rollup.errors]);
    const live = workers.filter((worker) => worker.status === 'live');
    const paused = new Set(queues.filter((queue) => queue.paused).map((queue) => `${queue.connection}:${queue.name}`));
    const served = live.flatMap((worker) => worker.queues.map((queue) => `${worker.connection}:${queue}`));
    const longest = queues
      .filter((queue) => queue.oldestPendingAge !== null)
      .sort((a, b) => b.oldestPendingAge! - a.oldestPendingAge!)[0];
    const sum = (field: 'pending' | 'delayed' | 'reserved') => queues.reduce((total, queue) => total + queue[field], 0);
    return {
      status: live.length === 0 ? 'inactive' : served.every((queue) => paused.has(queue)) ? 'paused' : 'running',
      ...overviewMetrics(samples, now),
      longestWait: longest
        ? { connection: longest.connection, queue: longest.name, seconds: longest.oldestPendingAge! }
        : null,
      workers: {
        live: live.length,
        lost: workers.length - live.length,
        busySlots: live.reduce((total, worker) => total + worker.busySlots, 0),
        slots: live.reduce((total, worker) => total + worker.concurrency, 0),
      },
      pending: sum('pending'),
      delayed: sum('delayed'),
      reserved: sum('reserved'),
      failed: failed.count,
      capped: failed.capped || queues.some((queue) => queue.capped),
      ...(errors.length > 0 ? { errors } : {}),
    };
  }

  async jobs(query: JobsQuery): Promise<PageBody<JobBody>> {
    const connection = query.connection ?? this.defaultConnection;
    let page;
    try {
      page = await asBadRequest(
        this.inspector(connection).jobs({
          state: query.state,
          queue: query.queue,
          job: query.job,
          cursor: query.cursor,
          limit: query.limit ?? DEFAULT_LIMIT,
        }),
      );
    } catch (error) {
      if (error instanceof DashboardHttpError) throw error;
      return { items: [], next: null, errors: [this.connectionError(connection, error)] };
    }
    return { items: page.jobs.map((job) => jobBody(connection, job)), next: page.next };
  }

  async job(connection: string, id: string): Promise<JobBody> {
    const job = await this.inspector(connection).job(id);
    if (!job)
      throw new DashboardHttpError(
        404,
        `No job [${id}] is stored on connection [${connection}] (finished, failed or never there).`,
      );
    return jobBody(connection, job, this.settings.redact);
  }

  async failed(query: FailedQuery): Promise<PageBody<JobBody>> {
    const search = searchOf(query);
    const [page, total] = await Promise.all([
      asBadRequest(this.app.queues.failedJobBrowser().page(search, query.limit ?? DEFAULT_LIMIT, query.cursor)),
      this.failedCount(search),
    ]);
    return {
      items: page.jobs.map((record) => failedJobBody(record, this.settings.redact)),
      next: page.next,
      total: total.count,
      capped: total.capped,
    };
  }

  async failedJob(uuid: string): Promise<JobBody> {
    return failedJobBody(await this.findFailed(uuid), this.settings.redact, true);
  }

  private async findFailed(uuid: string): Promise<StoredFailedJob> {
    const record = await this.app.queues.failer().find(uuid);
    if (!record) throw new DashboardHttpError(404, `No failed job has the uuid [${uuid}].`);
    return record;
  }

  async batches(cursor?: string, limit = DEFAULT_LIMIT): Promise<PageBody<BatchBody>> {
    if (!this.app.config.batching) return { items: [], next: null };
    const rows = await this.app.queues.batches().list(limit, cursor);
    return { items: rows.map(batchBody), next: rows.length === limit ? rows[rows.length - 1]!.id : null };
  }

  async batch(id: string): Promise<BatchBody> {
    const row = this.app.config.batching ? await this.app.queues.batches().find(id) : undefined;
    if (!row) throw new DashboardHttpError(404, `No batch has the id [${id}].`);
    return batchBody(row);
  }

  async metrics(query: MetricsQueryParams): Promise<MetricsBody> {
    const window = rangeWindow(query.range, await this.now());
    const filter = { ...(query.queue ? { queue: query.queue } : {}), ...(query.job ? { job: query.job } : {}) };
    const { stores, errors } = await this.samples(window.since, window.until, window.step, filter);
    const body = metricsBody(query.range, window, stores);
    return errors.length > 0 ? { ...body, errors } : body;
  }

  async pauseQueue(connection: string, queue: string): Promise<ActionBody> {
    const changed = await this.worker(connection).pause(queue);
    this.cache.clear();
    return {
      ok: true,
      message: changed ? `Paused queue [${connection}:${queue}]` : `Queue [${connection}:${queue}] was already paused`,
    };
  }

  async resumeQueue(connection: string, queue: string): Promise<ActionBody> {
    const changed = await this.worker(connection).resume(queue);
    this.cache.clear();
    return {
      ok: true,
      message: changed ? `Resumed queue [${connection}:${queue}]` : `Queue [${connection}:${queue}] was not paused`,
    };
  }

  async clearQueue(connection: string, queue: string): Promise<ActionBody> {
    const count = await this.worker(connection).clear(queue);
    this.cache.clear();
    return { ok: true, message: `Cleared ${plural(count, 'job')} from [${connection}:${queue}]`, count };
  }

  async retryFailed(selection: FailedSelection): Promise<ActionBody> {
    const chunk = this.settings.retryChunk ?? RETRY_CHUNK;
    const limit = this.settings.retryLimit ?? RETRY_LIMIT;
    let retried = 0;
    let more = false;
    const missing: string[] = [];
    try {
      if ('uuids' in selection) {
        const found: StoredFailedJob[] = [];
        for (const uuid of selection.uuids) {
          const record = await this.app.queues.failer().find(uuid);
          if (!record) missing.push(uuid);
          else found.push(record);
        }
        for (let start = 0; start < found.length; start += chunk) {
          const records = found.slice(start, start + chunk);
          await retryFailedRecords(this.app, records);
          retried += records.length;
        }
      } else {
        // Newest first from a keyset cursor: forgetting the records behind it moves nothing ahead
        // of it, and jobs that fail again while this runs are newer, so never retried twice.
        const search = searchOf(selection.filter);
        let cursor: string | undefined;
        do {
          const page = await this.app.queues.failedJobBrowser().page(search, Math.min(chunk, limit - retried), cursor);
          await retryFailedRecords(this.app, page.jobs);
          retried += page.jobs.length;
          cursor = page.next ?? undefined;
        } while (cursor !== undefined && retried < limit);
        more = cursor !== undefined;
      }
    } finally {
      this.cache.clear();
    }
    if (retried === 0 && missing.length > 0) {
      throw new DashboardHttpError(404, `No failed job has the uuid ${missing.map((uuid) => `[${uuid}]`).join(', ')}.`);
    }
    const notFound = missing.length > 0 ? `; not found: ${missing.join(', ')}` : '';
    const rest = more ? `; more match (at most ${limit} a request): retry again to continue` : '';
    return {
      ok: true,
      message: `Retried ${plural(retried, 'job')}${notFound}${rest}`,
      count: retried,
      ...(more ? { more } : {}),
    };
  }

  async forgetFailed(uuid: string): Promise<ActionBody> {
    const forgot = await this.app.queues.failer().forget(uuid);
    this.cache.clear();
    if (!forgot) throw new DashboardHttpError(404, `No failed job has the uuid [${uuid}].`);
    return { ok: true, message: `Forgot failed job [${uuid}]`, count: 1 };
  }

  async flushFailed(): Promise<ActionBody> {
    const count = await this.app.queues.failer().flush();
    this.cache.clear();
    return { ok: true, message: `Flushed ${plural(count, 'failed job')}`, count };
  }

  async retryBatch(id: string): Promise<ActionBody> {
    const batch = await this.batch(id);
    let retried = 0;
    try {
      for (const uuid of batch.failedJobIds) {
        const record = await this.app.queues.failer().find(uuid);
        if (!record) continue;
        await retryFailedRecord(this.app, record);
        retried++;
      }
    } finally {
      this.cache.clear();
    }
    return { ok: true, message: `Retried ${plural(retried, 'job')} of batch [${id}]`, count: retried };
  }
}

function searchOf(query: FailedQuery): FailedJobSearch {
  const search: { -readonly [K in keyof FailedJobSearch]: FailedJobSearch[K] } = {};
  if (query.connection) search.connection = query.connection;
  if (query.queue) search.queue = query.queue;
  if (query.job) search.job = query.job;
  if (query.text) search.text = query.text;
  return search;
}

/** One error per connection (the queues, workers and rollup reads of one connection fail alike). */
function uniqueErrors(errors: readonly ConnectionErrorBody[]): ConnectionErrorBody[] {
  const seen = new Set<string>();
  return errors.filter((error) => !seen.has(error.connection) && seen.add(error.connection));
}
