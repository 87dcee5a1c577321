// Where a redis connection keeps what. Every key of one queue carries the hash tag `{queue}`, so a
// queue's scripts touch one Redis Cluster slot; the connection-wide keys (workers, controls) share
// the tag `{@}` for the same reason. A queue named `@` only shares their slot, never a key.
//
// Per queue (P = the connection's prefix):
//   P{q}:waiting   ZSET  job id → when it becomes available (ms, server clock). Ready and delayed
//                        jobs are one set: a claim takes the due ones in (available-at, id) order,
//                        so nothing migrates delayed jobs and a past-dated job keeps its turn.
//   P{q}:reserved  ZSET  job id → lease expiry (ms); a claim moves lapsed ones back (bounded).
//   P{q}:job:<id>  HASH  payload, attempts, exceptions, created (ms), token (while reserved),
//                        claimed (ms, when the token's claim was made: a late take-back spares a
//                        newer claim) and at (its available-at score when claimed, so a job
//                        handed back keeps its turn).
//   P{q}:notify    LIST  wake-up tokens for blocked workers, capped; deleted when a claim leaves nothing due.
// Per connection:
//   P{@}:workers         ZSET  worker id → presumed dead at (ms)
//   P{@}:worker:<id>     HASH  registration (JSON), started and beat (ms: when it registered and last beat)
//   P{@}:claimed:<token> SET   queues a lease token has claimed from (heartbeats and sweeps find its jobs there)
//   P{@}:controls        HASH  restart counter
//   P{@}:paused          SET   paused queues
//   P{@}:ids             STRING the job id counter (reserved in blocks)
//   P{@}:queues          SET   every queue a push has named (a dashboard's queue list, without a KEYS scan)
//   P{@}:metrics:m:<minute> HASH the rollup's counters of one minute (unix s), field `<counter>|["queue","job"]`,
//                        expiring at the minute plus the retention (redis-metrics-repository.ts)
//   P{@}:metrics:h:<hour>   HASH the same summed per hour, for long ranges
//   P{@}:metrics:minutes, P{@}:metrics:hours  ZSET which periods hold counters (score = the period)
// Locks and rate limits, when `locks`/`rateLimits` name the connection (redis-lock-store.ts,
// redis-rate-limit-store.ts): one key each, untagged, so they spread over a cluster's slots.
//   Plock:<key>    STRING the owner, expiring with the lock's TTL (none for a TTL of 0)
//   Plimit:<key>   STRING the window's hit count, expiring when the window ends

/** The keys of one redis connection. */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  waiting(queue: string): string {
    return `${this.prefix}{${queue}}:waiting`;
  }

  reserved(queue: string): string {
    return `${this.prefix}{${queue}}:reserved`;
  }

  /** Put before a job id for its hash: scripts build job keys from it (same slot as the queue). */
  jobPrefix(queue: string): string {
    return `${this.prefix}{${queue}}:job:`;
  }

  notify(queue: string): string {
    return `${this.prefix}{${queue}}:notify`;
  }

  /** The queue whose notify key `key` is (what a blocking pop answers with). */
  queueOfNotify(key: string): string | undefined {
    if (!key.startsWith(`${this.prefix}{`) || !key.endsWith('}:notify')) return undefined;
    return key.slice(this.prefix.length + 1, -'}:notify'.length);
  }

  /** Put before the connection-wide keys; scripts build `worker:<id>` and `claimed:<token>` from it. */
  get connection(): string {
    return `${this.prefix}{@}:`;
  }

  get workers(): string {
    return `${this.connection}workers`;
  }

  worker(id: string): string {
    return `${this.connection}worker:${id}`;
  }

  claimed(token: string): string {
    return `${this.connection}claimed:${token}`;
  }

  get controls(): string {
    return `${this.connection}controls`;
  }

  get paused(): string {
    return `${this.connection}paused`;
  }

  get ids(): string {
    return `${this.connection}ids`;
  }

  get queues(): string {
    return `${this.connection}queues`;
  }

  /** Put before the rollup's keys: `m:<minute>`, `h:<hour>`, `minutes`, `hours`. */
  get metrics(): string {
    return `${this.connection}metrics:`;
  }
}
