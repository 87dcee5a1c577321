import type {
  InspectedJob,
  InspectedWorker,
  JobFilter,
  JobPage,
  JobState,
  QueueInspector,
  QueueSnapshot,
} from '../../contracts/queue-inspector.js';
import type { WorkerRegistration } from '../../contracts/worker-queue.js';
import type { RedisClient } from './redis-client.js';
import type { RedisKeys } from './redis-keys.js';
import { INSPECT_JOB } from './scripts/inspect-job.js';
import { INSPECT_QUEUE } from './scripts/inspect-queue.js';
import { PAGE_JOBS } from './scripts/page-jobs.js';
import { RESERVED_TOKENS } from './scripts/reserved-tokens.js';

/**
 * At most this many entries one page request reads per queue when it filters by job name (each
 * payload searched in the script); the page then comes back short, with a cursor to go on from.
 */
export const NAME_FILTER_WINDOW = 5000;

/** At most this many reserved jobs per queue are matched to the workers holding them. */
const HELD_JOBS_CAP = 10_000;

/** Where a page stopped: a sorted-set score (ms) and the id at it. */
interface Position {
  readonly score: number;
  readonly id: string;
}

/** One queue's answer to a page request: its matching jobs and, while it has more, where it stopped. */
interface QueuePage {
  readonly jobs: Array<InspectedJob & { readonly position: Position }>;
  readonly stopped: Position | undefined;
}

/**
 * What a dashboard reads of a redis connection (see redis-keys.ts for the keys). Queue names come
 * from the registry set every process adds a queue to on its first push, the paused set and the
 * workers' registrations; counts are ZCOUNTs; listings walk a queue's sorted set by rank from a
 * keyset cursor (score, id), so no request reads every job. Decision 0063 says why.
 */
export class RedisQueueInspector implements QueueInspector {
  constructor(
    readonly connectionName: string,
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async job(id: string): Promise<InspectedJob | undefined> {
    // A job's key carries its queue's hash tag, so it is looked for in every queue known.
    const found = await Promise.all(
      (await this.queueNames()).map(async (queue) => {
        const reply = await this.client.run(
          INSPECT_JOB,
          [this.keys.waiting(queue), this.keys.reserved(queue)],
          [this.keys.jobPrefix(queue), id],
        );
        if (!Array.isArray(reply)) return undefined;
        const [state, at, payload, attempts, exceptions, created, claimed, token] = reply.map(String) as [
          JobState,
          ...string[],
        ];
        return inspected(id, queue, state, [at!, payload!, attempts!, exceptions!, created!, claimed!, token!]);
      }),
    );
    return found.find((job) => job !== undefined);
  }

  async jobs(filter: JobFilter): Promise<JobPage> {
    const after = filter.cursor === undefined || filter.cursor === '' ? undefined : parseCursor(filter.cursor);
    const limit = Math.floor(filter.limit);
    if (!(limit >= 1))
      throw new RangeError(`A job page's limit must be a whole number of at least 1; got ${filter.limit}.`);
    const queues = filter.queue === undefined ? await this.queueNames() : [filter.queue];
    const pages = await Promise.all(queues.map((queue) => this.page(queue, filter, after, limit)));
    // Every queue read everything up to where it stopped, so the merged list is complete up to
    // the earliest of those places: what lies beyond it waits for the next page.
    const frontier = pages
      .map((page) => page.stopped)
      .filter((stopped) => stopped !== undefined)
      .sort(compare)[0];
    const candidates = pages
      .flatMap((page) => page.jobs)
      .filter((job) => frontier === undefined || compare(job.position, frontier) <= 0)
      .sort((a, b) => compare(a.position, b.position));
    const page = candidates.slice(0, limit);
    const last = page.at(-1);
    const next = candidates.length > limit && last ? last.position : frontier;
    return { jobs: page.map(({ position: _position, ...job }) => job), next: next ? cursorOf(next) : null };
  }

  /** One queue's part of a page: its jobs after `after`, read by PAGE_JOBS. */
  private async page(queue: string, filter: JobFilter, after: Position | undefined, limit: number): Promise<QueuePage> {
    const set = filter.state === 'reserved' ? this.keys.reserved(queue) : this.keys.waiting(queue);
    const reply = (await this.client.run(
      PAGE_JOBS,
      [set],
      [
        this.keys.jobPrefix(queue),
        filter.state,
        after ? String(after.score) : '',
        after ? after.id : '',
        limit,
        filter.job ?? '',
        NAME_FILTER_WINDOW,
        // errand's payloads are JSON.stringify's, with no space after a colon.
        `"displayName":${JSON.stringify(filter.job ?? '')}`,
      ],
    )) as unknown[];
    const [more, stoppedScore, stoppedId] = reply.map(String) as [string, string, string];
    const jobs: QueuePage['jobs'] = [];
    for (let i = 3; i < reply.length; i += 9) {
      const [id, score, payload, attempts, exceptions, created, claimed, token, at] = reply
        .slice(i, i + 9)
        .map(String) as string[];
      const availableAt = filter.state === 'reserved' ? at! : score!;
      jobs.push({
        ...inspected(id!, queue, filter.state, [
          availableAt,
          payload!,
          attempts!,
          exceptions!,
          created!,
          claimed!,
          token!,
        ]),
        position: { score: Number(score), id: id! },
      });
    }
    return { jobs, stopped: more === '1' ? { score: Number(stoppedScore), id: stoppedId } : undefined };
  }

  async now(): Promise<number> {
    const [seconds, micros] = (await this.client.command(['TIME'])) as [string, string];
    return Number(seconds) + Math.floor(Number(micros) / 1000) / 1000;
  }

  async queue(name: string, cap: number): Promise<QueueSnapshot> {
    const [reply, paused] = await Promise.all([
      this.client.run(INSPECT_QUEUE, [this.keys.waiting(name), this.keys.reserved(name)], []),
      this.client.command(['SISMEMBER', this.keys.paused, name], this.keys.paused),
    ]);
    const [pending, delayed, reserved, oldest, now] = (reply as unknown[]).map(Number) as number[];
    const counts = [pending!, delayed!, reserved!];
    return {
      name,
      pending: Math.min(pending!, cap),
      delayed: Math.min(delayed!, cap),
      reserved: Math.min(reserved!, cap),
      capped: counts.some((count) => count > cap),
      oldestPendingAge: oldest! < 0 ? null : Math.max(0, Math.floor((now! - oldest!) / 1000)),
      paused: Number(paused) === 1,
    };
  }

  async queueNames(): Promise<string[]> {
    const [registered, paused, workers] = await Promise.all([
      this.members(this.keys.queues),
      this.members(this.keys.paused),
      this.registrations(),
    ]);
    const names = new Set([...paused, ...workers.flatMap((worker) => worker.registration.queues)]);
    // The registry only grows (a process remembers having added a queue, so removing one would
    // hide that process's later pushes): a queue that holds no job now is left out here instead.
    const holding = await Promise.all(
      registered
        .filter((queue) => !names.has(queue))
        .map(async (queue) => {
          const key = this.keys.waiting(queue);
          const count = await this.client.command(['EXISTS', key, this.keys.reserved(queue)], key);
          return Number(count) > 0 ? queue : undefined;
        }),
    );
    for (const queue of holding) if (queue !== undefined) names.add(queue);
    return [...names].sort();
  }

  async workers(): Promise<InspectedWorker[]> {
    const [registrations, now] = await Promise.all([this.registrations(), this.now()]);
    const held = await this.heldJobs(registrations.map((worker) => worker.registration.id));
    return registrations
      .map(
        ({ registration, expires, started, beat }): InspectedWorker => ({
          id: registration.id,
          name: registration.name,
          connection: registration.connection,
          queues: registration.queues,
          hostname: registration.hostname,
          pid: registration.pid,
          concurrency: registration.concurrency,
          startedAt: started / 1000,
          lastHeartbeatAt: beat / 1000,
          expiresAt: expires / 1000,
          lost: expires / 1000 < now,
          jobs: held.get(registration.id) ?? [],
        }),
      )
      .sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * The registered workers of this connection with their registration, presumed-dead time, start
   * and last beat (ms). Connections that share a server and prefix share the registrations; each
   * shows the workers started on it, as a database connection does (its workers table is shared too).
   */
  private async registrations(): Promise<
    Array<{ registration: WorkerRegistration; expires: number; started: number; beat: number }>
  > {
    const { workers } = this.keys;
    const flat = ((await this.client.command(['ZRANGE', workers, '0', '-1', 'WITHSCORES'], workers)) as unknown[]).map(
      String,
    );
    const entries: Array<{ id: string; expires: number }> = [];
    for (let i = 0; i < flat.length; i += 2) entries.push({ id: flat[i]!, expires: Number(flat[i + 1]) });
    const read = await Promise.all(
      entries.map(async ({ id, expires }) => {
        const key = this.keys.worker(id);
        const [json, started, beat] = (await this.client.command(
          ['HMGET', key, 'registration', 'started', 'beat'],
          key,
        )) as (string | null)[];
        // Gone between the two reads: swept or deregistered, so no longer a worker to show.
        if (json === null || json === undefined) return undefined;
        const registration = JSON.parse(json) as WorkerRegistration;
        if (registration.connection !== this.connectionName) return undefined;
        // A worker registered before the hash kept these times shows its presumed-dead time.
        const since = Number(started ?? beat ?? expires);
        return { registration, expires, started: since, beat: Number(beat ?? since) };
      }),
    );
    return read.filter((worker) => worker !== undefined);
  }

  /** The ids of the reserved jobs each of `workers` holds, found through the queues it claimed from. */
  private async heldJobs(workers: readonly string[]): Promise<Map<string, string[]>> {
    const claimedFrom = await Promise.all(workers.map((id) => this.members(this.keys.claimed(id))));
    const queues = [...new Set(claimedFrom.flat())];
    const replies = await Promise.all(
      queues.map((queue) =>
        this.client.run(RESERVED_TOKENS, [this.keys.reserved(queue)], [this.keys.jobPrefix(queue), HELD_JOBS_CAP]),
      ),
    );
    const held = new Map<string, string[]>();
    for (const reply of replies) {
      const flat = (reply as unknown[]).map(String);
      for (let i = 0; i < flat.length; i += 2) {
        const [id, token] = [flat[i]!, flat[i + 1]!];
        const ids = held.get(token);
        if (ids) ids.push(id);
        else held.set(token, [id]);
      }
    }
    for (const ids of held.values()) ids.sort();
    return held;
  }

  private async members(key: string): Promise<string[]> {
    return ((await this.client.command(['SMEMBERS', key], key)) as unknown[]).map(String);
  }
}

/** A job from its hash's fields; times in the hash are ms on the server's clock. */
function inspected(
  id: string,
  queue: string,
  state: JobState,
  [at, payload, attempts, exceptions, created, claimed, token]: string[],
): InspectedJob {
  const reserved = state === 'reserved';
  return {
    id,
    queue,
    state,
    name: displayNameOf(payload!),
    attempts: Number(attempts),
    exceptions: Number(exceptions),
    createdAt: Number(created) / 1000,
    availableAt: Number(at) / 1000,
    reservedAt: reserved && claimed !== '' ? Number(claimed) / 1000 : null,
    reservedBy: reserved && token !== '' ? token! : null,
    payload: payload!,
  };
}

function displayNameOf(payload: string): string | null {
  try {
    const name = (JSON.parse(payload) as { displayName?: unknown } | null)?.displayName;
    return typeof name === 'string' ? name : null;
  } catch {
    return null;
  }
}

function compare(a: Position, b: Position): number {
  if (a.score !== b.score) return a.score - b.score;
  // Members of one score are ordered by their bytes in a sorted set; ids are ASCII digits.
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function cursorOf(position: Position): string {
  return `${position.score}:${position.id}`;
}

function parseCursor(cursor: string): Position {
  const match = /^(-?\d+):(\S+)$/.exec(cursor);
  if (!match) throw new RangeError(`The cursor [${cursor}] is not one a page of this redis connection's jobs gave.`);
  return { score: Number(match[1]), id: match[2]! };
}
