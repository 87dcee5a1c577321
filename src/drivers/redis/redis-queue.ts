import type { ResolvedRedisConnection } from '../../config/config-types.js';
import type { FailedJobRecord, FailedJobStore } from '../../contracts/failed-job-store.js';
import type { PushRequest } from '../../contracts/queue.js';
import type { ReservedJob } from '../../contracts/reserved-job.js';
import type {
  Controls,
  FinishingWrites,
  LeaseSettings,
  QueueStats,
  SweptWorkers,
  WorkerQueue,
  WorkerRegistration,
} from '../../contracts/worker-queue.js';
import { ConfigError } from '../../errors/config-error.js';
import { processMetrics } from '../../metrics/process-metrics.js';
import { JobIds } from './job-ids.js';
import { listenForPushes } from './listen-for-pushes.js';
import { PendingPushes } from './pending-pushes.js';
import type { RedisClient } from './redis-client.js';
import { RedisKeys } from './redis-keys.js';
import { CLAIM_JOBS } from './scripts/claim-jobs.js';
import { CLEAR_QUEUE } from './scripts/clear-queue.js';
import { DELETE_JOBS } from './scripts/delete-jobs.js';
import { PUSH_JOBS } from './scripts/push-jobs.js';
import { QUEUE_STATS } from './scripts/queue-stats.js';
import { REGISTER_WORKER } from './scripts/register-worker.js';
import { RELEASE_JOB } from './scripts/release-job.js';
import { RENEW_LEASES } from './scripts/renew-leases.js';
import { RESERVED_JOBS } from './scripts/reserved-jobs.js';
import { SWEEP_WORKERS } from './scripts/sweep-workers.js';
import { TAKE_BACK } from './scripts/take-back.js';
import { UNCLAIM_JOBS } from './scripts/unclaim-jobs.js';
import { WORKER_HEARTBEAT } from './scripts/worker-heartbeat.js';
import { refuseEvictingServer } from './server-facts.js';

/** Jobs per push script: large enough that bulk dispatch is a few round trips, small enough not to stall the server. */
const BULK_CHUNK = 1000;

/** At most this many wake-up tokens wait in a queue's notify list: enough to wake several idle workers. */
const NOTIFY_CAP = 16;

/**
 * A queue connection whose jobs live in Redis (standalone or Cluster). Every change to a queue is
 * one Lua script on its hash slot, reading the server's clock; finishing writes are fenced on the
 * claim (lease token and attempt count). See redis-keys.ts for what is stored where.
 */
export class RedisQueue implements WorkerQueue {
  /** Jobs are stored, and run by workers. */
  readonly runsJobsInline = false;
  /** Every thread and process that opens the same configuration reaches the same server. */
  readonly reachableFromOtherThreads = true;
  readonly keys: RedisKeys;
  private readonly ids: JobIds;
  /** The server's memory policy, checked once before this connection serves a worker. */
  #evictionChecked: Promise<void> | undefined;
  /** Queues this process has added to the queue registry: one SADD per queue per process, not per push. */
  readonly #registered = new Set<string>();

  constructor(
    readonly connectionName: string,
    readonly client: RedisClient,
    readonly config: ResolvedRedisConnection,
  ) {
    this.keys = new RedisKeys(config.prefix);
    this.ids = new JobIds(client, this.keys.ids);
  }

  get defaultQueue(): string {
    return this.config.queue;
  }

  get leases(): LeaseSettings {
    return { heartbeat: this.config.heartbeat, retryAfter: this.config.retryAfter };
  }

  /** Only itself: nothing else errand keeps can join a Redis queue's writes. */
  sharesStoreWith(other: object): boolean {
    return other === this;
  }

  async push(request: PushRequest): Promise<string> {
    const [id] = await this.bulk([request]);
    return id!;
  }

  async bulk(requests: readonly PushRequest[]): Promise<string[]> {
    if (requests.length === 0) return [];
    const ids = await this.ids.take(requests.length);
    const held = requests.find((request) => request.transaction)?.transaction;
    if (held !== undefined) {
      if (!(held instanceof PendingPushes) || held.owner !== this) {
        throw new ConfigError(
          `Queue connection [${this.connectionName}] keeps its jobs in Redis, which a database transaction cannot hold; push them outside withTransaction (or after the commit).`,
        );
      }
      held.add(requests, ids);
      return ids;
    }
    await this.store(requests, ids);
    return ids;
  }

  /** Stores jobs with their ids made: one script per queue and chunk, all sent at once. */
  private async store(requests: readonly PushRequest[], ids: readonly string[]): Promise<void> {
    const calls: Promise<unknown>[] = [];
    const entries = requests.map((request, i) => ({ queue: request.queue, request, id: ids[i]! }));
    for (const [queue, group] of byQueue(entries)) {
      for (let start = 0; start < group.length; start += BULK_CHUNK) {
        const args: (string | number)[] = [this.keys.jobPrefix(queue), NOTIFY_CAP];
        for (const { request, id } of group.slice(start, start + BULK_CHUNK)) {
          const { payload, delay } = request;
          args.push(id, payload);
          if (delay instanceof Date) args.push('a', delay.getTime());
          else args.push('r', delay === undefined ? 0 : Math.round(delay * 1000));
        }
        calls.push(this.client.run(PUSH_JOBS, [this.keys.waiting(queue), this.keys.notify(queue)], args));
      }
    }
    const unregistered = [...new Set(requests.map((request) => request.queue))].filter((q) => !this.#registered.has(q));
    if (unregistered.length > 0) calls.push(this.register(unregistered));
    await Promise.all(calls);
  }

  /**
   * Adds queues to the registry a dashboard lists queues from (redis-queue-inspector.ts), sent
   * beside the push: on a cluster the registry lives in the `{@}` slot, which no push script
   * may touch. Remembered only once the server took it, so a failed SADD is tried again.
   */
  private async register(queues: readonly string[]): Promise<void> {
    await this.client.command(['SADD', this.keys.queues, ...queues], this.keys.queues);
    for (const queue of queues) this.#registered.add(queue);
  }

  async claim(queue: string, limit: number, leaseToken: string): Promise<ReservedJob[]> {
    const claimed = this.keys.claimed(leaseToken);
    // Sent with the claim, in the same round trip: heartbeats and sweeps find the token's jobs by it.
    const notes = [this.client.command(['SADD', claimed, queue], claimed)];
    // Without heartbeats no sweep deletes the set: it expires once every lease it could list has lapsed.
    if (this.config.heartbeat === false)
      notes.push(this.client.command(['PEXPIRE', claimed, String(2 * this.leaseMs())], claimed));
    const [reply, ...noted] = await Promise.allSettled([
      this.client.run(
        CLAIM_JOBS,
        [this.keys.waiting(queue), this.keys.reserved(queue), this.keys.notify(queue)],
        [this.keys.jobPrefix(queue), limit, leaseToken, this.leaseMs(), this.config.migrationBatchSize],
      ),
      ...notes,
    ]);
    if (reply.status === 'rejected') throw reply.reason;
    const [recovered, ...listed] = reply.value as unknown[];
    // Lapsed reservations the script moved back: taken from a worker that stopped renewing, as a
    // sweep does, and counted from the claim's own reply (no extra round trip).
    if (Number(recovered) > 0) processMetrics?.recovered(this.connectionName, queue, Number(recovered));
    const jobs = jobsOf(listed, queue, leaseToken, this.keys.jobPrefix(queue), true);
    const failed = noted.find((note) => note.status === 'rejected');
    if (failed) {
      // Unlisted, these leases could not be renewed nor swept back: hand the jobs back (attempt
      // returned) rather than leave them reserved for nobody to run.
      if (jobs.length > 0) await this.unclaim(jobs);
      throw failed.reason;
    }
    return jobs;
  }

  async clear(queue: string): Promise<number> {
    return Number(
      await this.client.run(
        CLEAR_QUEUE,
        [this.keys.waiting(queue), this.keys.reserved(queue), this.keys.notify(queue)],
        [this.keys.jobPrefix(queue)],
      ),
    );
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  async delete(job: ReservedJob, within?: FinishingWrites): Promise<boolean> {
    // A lost lease runs none of `within`; a throw there changes nothing.
    if (within && !(await this.holds(job))) return false;
    return this.deleteChecked(job, within);
  }

  /** delete() once the lease was checked (when `within` needs it): `within`'s writes, then the fenced delete. */
  private async deleteChecked(job: ReservedJob, within?: FinishingWrites): Promise<boolean> {
    if (within) {
      const pending = new PendingPushes(this);
      await within(pending);
      if (pending.requests.length > 0) await this.store(pending.requests, pending.ids);
    }
    return (await this.deleteHeld(job.queue, [job])).length === 1;
  }

  async deleteMany(jobs: readonly ReservedJob[]): Promise<Set<string>> {
    const deleted = await Promise.all([...byQueue(jobs)].map(([queue, group]) => this.deleteHeld(queue, group)));
    return new Set(deleted.flat());
  }

  private async deleteHeld(queue: string, jobs: readonly ReservedJob[]): Promise<string[]> {
    const reply = await this.client.run(
      DELETE_JOBS,
      [this.keys.reserved(queue)],
      [this.keys.jobPrefix(queue), ...fences(jobs)],
    );
    return (reply as unknown[]).map(String);
  }

  /** Whether the job is still reserved under this claim (read-only; the writes check again). */
  private async holds(job: ReservedJob): Promise<boolean> {
    const key = this.keys.jobPrefix(job.queue) + job.id;
    const [fields, score] = await Promise.all([
      this.client.command(['HMGET', key, 'token', 'attempts'], key),
      this.client.command(['ZSCORE', this.keys.reserved(job.queue), job.id], key),
    ]);
    const [token, attempts] = fields as (string | null)[];
    return token === job.reservedBy && attempts === String(job.attempts) && score !== null;
  }

  async deregisterWorker(workerId: string): Promise<void> {
    const { workers } = this.keys;
    await Promise.all([
      this.client.command(['ZREM', workers, workerId], workers),
      this.client.command(['DEL', this.keys.worker(workerId), this.keys.claimed(workerId)], workers),
    ]);
  }

  /**
   * Records the failure in `store` (a database: Redis keeps no failed jobs) and deletes the job,
   * fenced. The lease is checked first, so a stale worker records nothing; between that check and
   * the delete the record comes first, and the same job recorded twice is stored once.
   */
  async fail(
    job: ReservedJob,
    record: FailedJobRecord,
    store: FailedJobStore,
    within?: FinishingWrites,
  ): Promise<boolean> {
    if (!(await this.holds(job))) return false;
    await store.log(record);
    return this.deleteChecked(job, within);
  }

  async heartbeat(workerId: string, heldIds: readonly string[]): Promise<boolean> {
    const reply = await this.client.run(
      WORKER_HEARTBEAT,
      [this.keys.workers, this.keys.claimed(workerId), this.keys.worker(workerId)],
      [workerId, this.lapseMs(), this.lapseMs() + this.leaseMs()],
    );
    if (!Array.isArray(reply)) return false;
    if (heldIds.length > 0) {
      const queues = reply.slice(1).map(String);
      await Promise.all(
        queues.map((queue) =>
          this.client.run(
            RENEW_LEASES,
            [this.keys.reserved(queue)],
            [this.keys.jobPrefix(queue), workerId, this.leaseMs(), ...heldIds],
          ),
        ),
      );
    }
    return true;
  }

  /** Redis never makes a client wait for another's lock: nothing to bound. */
  async limitLockWaits(): Promise<void> {}

  /** Wakes the worker when a job is pushed to one of `queues` (blocking pops on their notify lists). */
  listen(
    queues: readonly string[],
    onQueue: (queue: string | undefined) => void,
    report: (error: unknown) => void,
  ): Promise<() => Promise<void>> {
    return this.refuseEviction().then(() =>
      listenForPushes(this.client, this.keys, queues, this.config.blockFor, onQueue, report),
    );
  }

  /**
   * Refuses to serve a worker when a server may evict keys (see server-facts.ts), once per
   * connection: every worker registers and listens before it claims, so none runs on such a
   * server unless `allowEviction` says so. Dispatching is never refused: a web process cannot fix
   * the setting, and refusing it would lose the job it was about to store.
   */
  private refuseEviction(): Promise<void> {
    this.#evictionChecked ??= refuseEvictingServer(this.client, this.config, this.connectionName);
    // A server that could not be asked (away) is asked again next time.
    this.#evictionChecked.catch(() => (this.#evictionChecked = undefined));
    return this.#evictionChecked;
  }

  async pause(queue: string): Promise<boolean> {
    return Number(await this.client.command(['SADD', this.keys.paused, queue], this.keys.paused)) === 1;
  }

  async resume(queue: string): Promise<boolean> {
    return Number(await this.client.command(['SREM', this.keys.paused, queue], this.keys.paused)) === 1;
  }

  async requestRestart(): Promise<void> {
    await this.client.command(['HINCRBY', this.keys.controls, 'restart', '1'], this.keys.controls);
  }

  async controls(): Promise<Controls> {
    const [restart, paused] = await Promise.all([
      this.client.command(['HGET', this.keys.controls, 'restart'], this.keys.controls),
      this.client.command(['SMEMBERS', this.keys.paused], this.keys.paused),
    ]);
    return { restart: Number(restart ?? 0), paused: (paused as string[]).map(String).sort() };
  }

  async registerWorker(worker: WorkerRegistration): Promise<void> {
    await this.refuseEviction();
    await this.client.run(
      REGISTER_WORKER,
      [this.keys.workers, this.keys.worker(worker.id)],
      [worker.id, this.lapseMs(), JSON.stringify(worker)],
    );
  }

  async release(job: ReservedJob, delaySeconds: number, exceptions: number): Promise<boolean> {
    const { queue } = job;
    const reply = await this.client.run(
      RELEASE_JOB,
      [this.keys.waiting(queue), this.keys.reserved(queue), this.keys.notify(queue)],
      [
        this.keys.jobPrefix(queue),
        job.id,
        job.reservedBy,
        job.attempts,
        Math.round(delaySeconds * 1000),
        exceptions,
        NOTIFY_CAP,
      ],
    );
    return Number(reply) === 1;
  }

  async reservedJobs(leaseToken: string, ids: readonly string[]): Promise<ReservedJob[]> {
    if (ids.length === 0) return [];
    const claimed = this.keys.claimed(leaseToken);
    const queues = ((await this.client.command(['SMEMBERS', claimed], claimed)) as unknown[]).map(String);
    const found = await Promise.all(
      queues.map(async (queue) =>
        jobsOf(
          await this.client.run(
            RESERVED_JOBS,
            [this.keys.reserved(queue)],
            [this.keys.jobPrefix(queue), leaseToken, ...ids],
          ),
          queue,
          leaseToken,
          this.keys.jobPrefix(queue),
          false,
        ),
      ),
    );
    return found.flat();
  }

  async size(queue: string): Promise<number> {
    const counts = await Promise.all([
      this.client.command(['ZCARD', this.keys.waiting(queue)], this.keys.waiting(queue)),
      this.client.command(['ZCARD', this.keys.reserved(queue)], this.keys.reserved(queue)),
    ]);
    return counts.reduce<number>((sum, count) => sum + Number(count), 0);
  }

  async stats(queue: string): Promise<QueueStats> {
    const reply = (await this.client.run(
      QUEUE_STATS,
      [this.keys.waiting(queue), this.keys.reserved(queue)],
      [this.keys.jobPrefix(queue)],
    )) as number[];
    const [pending, delayed, reserved, ageMs] = reply.map(Number) as [number, number, number, number];
    return {
      size: pending + delayed + reserved,
      pending,
      delayed,
      reserved,
      oldestPendingAge: ageMs < 0 ? null : Math.floor(ageMs / 1000),
    };
  }

  async sweepDeadWorkers(sweeperId?: string): Promise<SweptWorkers> {
    const reply = (await this.client.run(
      SWEEP_WORKERS,
      [this.keys.workers],
      [this.keys.connection, sweeperId ?? ''],
    )) as unknown[];
    const sweptAt = Number(reply[0]);
    const workers: string[] = [];
    const takeBacks: Promise<unknown>[] = [];
    const queues: string[] = [];
    for (let i = 1; i < reply.length; ) {
      const worker = String(reply[i]);
      const count = Number(reply[i + 1]);
      workers.push(worker);
      for (const queue of reply.slice(i + 2, i + 2 + count).map(String)) {
        queues.push(queue);
        takeBacks.push(
          this.client.run(
            TAKE_BACK,
            [this.keys.waiting(queue), this.keys.reserved(queue), this.keys.notify(queue)],
            [this.keys.jobPrefix(queue), worker, NOTIFY_CAP, sweptAt],
          ),
        );
      }
      i += 2 + count;
    }
    const counts = (await Promise.all(takeBacks)).map(Number);
    const byQueue: Record<string, number> = {};
    counts.forEach((count, k) => {
      if (count > 0) byQueue[queues[k]!] = (byQueue[queues[k]!] ?? 0) + count;
    });
    return { workers: workers.sort(), jobs: counts.reduce((sum, count) => sum + count, 0), byQueue };
  }

  async unclaim(jobs: readonly ReservedJob[], delaySeconds = 0): Promise<number> {
    const counts = await Promise.all(
      [...byQueue(jobs)].map(([queue, group]) =>
        this.client.run(
          UNCLAIM_JOBS,
          [this.keys.waiting(queue), this.keys.reserved(queue), this.keys.notify(queue)],
          [this.keys.jobPrefix(queue), Math.round(delaySeconds * 1000), NOTIFY_CAP, ...fences(group)],
        ),
      ),
    );
    return counts.reduce<number>((sum, count) => sum + Number(count), 0);
  }

  /** How long a claim or a heartbeat keeps a job: `retryAfter`, renewed by each beat while heartbeats are on. */
  private leaseMs(): number {
    return this.config.retryAfter * 1000;
  }

  private lapseMs(): number {
    return this.config.heartbeat === false ? 0 : this.config.heartbeat.lapse * 1000;
  }
}

/**
 * The jobs a claim-shaped reply lists: per job its id, payload, attempts, exceptions, and when
 * `withProblems` (a claim's reply) its wait and what is wrong with its entry, which makes the job unreadable
 * with its reason (see claim-jobs.ts); `jobPrefix` names the job's key in that reason.
 */
function jobsOf(
  reply: unknown,
  queue: string,
  reservedBy: string,
  jobPrefix: string,
  withProblems: boolean,
): ReservedJob[] {
  const flat = reply as unknown[];
  const stride = withProblems ? 6 : 4;
  const jobs: ReservedJob[] = [];
  for (let i = 0; i < flat.length; i += stride) {
    const id = String(flat[i]);
    const job: ReservedJob = {
      id,
      queue,
      payload: String(flat[i + 1]),
      attempts: Number(flat[i + 2]),
      exceptions: Number(flat[i + 3] ?? 0),
      reservedBy,
      waitMs: withProblems ? Number(flat[i + 5] ?? 0) : undefined,
    };
    const problem = withProblems ? String(flat[i + 4] ?? '') : '';
    jobs.push(problem === '' ? job : { ...job, unreadable: unreadable(problem, `${jobPrefix}${id}`, id) });
  }
  return jobs;
}

/** Per job its id, lease token and attempts: what a fenced script checks. */
function fences(jobs: readonly ReservedJob[]): (string | number)[] {
  return jobs.flatMap((job) => [job.id, job.reservedBy, job.attempts]);
}

/** `items` grouped by their queue, each group in their order. */
function byQueue<T extends { readonly queue: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(item.queue);
    if (group) group.push(item);
    else groups.set(item.queue, [item]);
  }
  return groups;
}

/** Why a claimed job's entry cannot be run, from the claim script's problem code (see claim-jobs.ts). */
function unreadable(problem: string, key: string, id: string): string {
  const colon = problem.indexOf(':');
  const [kind, value] = colon < 0 ? [problem, ''] : [problem.slice(0, colon), problem.slice(colon + 1)];
  if (kind === 'type' && value === 'none')
    return `Redis holds no job hash at ${key}: job ${id} was waiting without one (a lost write, or an edit by hand); nothing was run.`;
  if (kind === 'type') return `Redis key ${key} is a ${value}, not a job hash; nothing was run.`;
  if (kind === 'attempts')
    return `The Redis job hash ${key} has attempts [${value}], not a whole number; nothing was run.`;
  return `The Redis job hash ${key} has no payload field; nothing was run.`;
}
