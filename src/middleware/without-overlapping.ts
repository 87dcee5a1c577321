import { randomUUID } from 'node:crypto';
import type { LockStore } from '../contracts/lock-store.js';
import { JobMiddleware, type NextMiddleware } from '../decorators/job-middleware.js';
import { ConfigError } from '../errors/config-error.js';
import { jobContextOf } from '../job/job-context.js';
import { jobRegistry } from '../job/job-registry.js';
import type { Queueable } from '../job/queueable.js';
import { lockStore } from '../locks/current-lock-store.js';
import { report } from '../runtime/current.js';
import { numberProblem } from '../runtime/numeric-bounds.js';

/**
 * The TTL of a lock without `expireAfter()`: it is refreshed every third of it while the job
 * runs (until its signal aborts), so a running job never loses it, and a worker killed mid-job
 * frees it within this many seconds (Laravel's default never expires, and a killed worker's lock
 * then blocks forever).
 */
export const OVERLAP_KEEPALIVE_TTL = 30;

/**
 * Lets only one job with the same key run at a time (Laravel's `WithoutOverlapping`), across
 * every worker sharing the lock store. A job that finds the lock held is released back to the
 * queue (after `releaseAfter` seconds, default at once; the release spends an attempt, so give
 * such jobs `tries` or `retryUntil`), or with `dontRelease()` deleted. The lock key is
 * `errand:overlap:{job name}:{key}` (with `shared()`: `errand:overlap:{key}`, one lock across job
 * classes); its owner is the attempt (`{uuid}:{attempt}`), and it is released when the job's
 * handle() settles, however it settles.
 *
 * @example
 * ```ts
 * middleware() { return [new WithoutOverlapping(this.userId).releaseAfter(10)]; }
 * await dispatch(new ImportFeed(7)).through([new WithoutOverlapping('feeds').shared()]);
 * ```
 */
@JobMiddleware({ name: 'errand:WithoutOverlapping' })
export class WithoutOverlapping implements JobMiddleware {
  /** Seconds a job that finds the lock held waits before it is tried again. */
  releaseAfterSeconds = 0;
  /** A fixed lock TTL in seconds (expireAfter); unset: kept alive while the job runs. */
  expiresAfterSeconds?: number;
  /** False after dontRelease(): a job that finds the lock held is deleted. */
  shouldRelease = true;
  /** True after shared(): the key is shared by every job class. */
  shareKey = false;

  constructor(
    /** What jobs must not overlap on (a user id, a feed name …); '' locks the whole job class. */
    public key: string | number = '',
  ) {
    if (typeof key !== 'string' && !(typeof key === 'number' && Number.isFinite(key))) {
      throw new ConfigError(
        `WithoutOverlapping needs a string or number key, got ${key === null ? 'null' : typeof key}.`,
      );
    }
  }

  /** Releases a job that finds the lock held for this many seconds (default 0: at once). */
  releaseAfter(seconds: number): this {
    const problem = numberProblem(seconds);
    if (problem)
      throw new ConfigError(`WithoutOverlapping(${JSON.stringify(this.key)}).releaseAfter(): the delay ${problem}.`);
    this.releaseAfterSeconds = seconds;
    return this;
  }

  /**
   * Lets the lock expire this many seconds after it is taken, even while the job still runs
   * (Laravel's expireAfter). Without it errand keeps the lock alive while the job runs and a
   * killed worker's lock expires within 30 s; set it only when you want a hard limit.
   */
  expireAfter(seconds: number): this {
    const problem = numberProblem(seconds, { min: 1, whole: true });
    if (problem)
      throw new ConfigError(
        `WithoutOverlapping(${JSON.stringify(this.key)}).expireAfter(): the lock's lifetime ${problem}.`,
      );
    this.expiresAfterSeconds = seconds;
    return this;
  }

  /** Shares the lock across job classes: the key no longer includes the job's name. */
  shared(): this {
    this.shareKey = true;
    return this;
  }

  /** Deletes a job that finds the lock held instead of releasing it. */
  dontRelease(): this {
    this.shouldRelease = false;
    return this;
  }

  /** The lock key this middleware takes for `job`. */
  lockKey(job: object): string {
    const jobName = jobRegistry.byClass(job.constructor)?.name ?? job.constructor.name;
    return this.shareKey ? `errand:overlap:${this.key}` : `errand:overlap:${jobName}:${this.key}`;
  }

  async handle(job: Queueable, next: NextMiddleware): Promise<unknown> {
    const key = this.lockKey(job);
    const info = jobContextOf(job)?.info;
    const owner = info ? `${info.uuid}:${info.attempts}` : randomUUID();
    const store = await lockStore();
    const ttl = this.expiresAfterSeconds ?? OVERLAP_KEEPALIVE_TTL;
    if (!(await store.acquire(key, owner, ttl))) {
      // Returning without next() and without release() deletes the job (dontRelease).
      if (this.shouldRelease !== false) job.release(this.releaseAfterSeconds ?? 0);
      return undefined;
    }
    const stopKeepAlive =
      this.expiresAfterSeconds === undefined ? keepAlive(store, key, owner, ttl, job.signal) : undefined;
    try {
      return await next(job);
    } finally {
      stopKeepAlive?.();
      await store.release(key, owner).catch(report);
    }
  }
}

/**
 * Refreshes a lock every third of its TTL until stopped, until it is no longer the owner's
 * (refresh says so: it expired and was taken, which only a loop blocked for a whole TTL allows),
 * or until the attempt's signal aborts: a handler abandoned after its timeout (decision 0012) may
 * never settle, and must not hold the key for the life of the process.
 */
function keepAlive(store: LockStore, key: string, owner: string, ttl: number, signal: AbortSignal): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
  };
  if (signal.aborted) return stop;
  signal.addEventListener('abort', stop, { once: true });
  const schedule = () => {
    timer = setTimeout(
      () => {
        store.refresh(key, owner, ttl).then(
          (held) => held && !stopped && schedule(),
          (error: unknown) => {
            report(error);
            if (!stopped) schedule();
          },
        );
      },
      (ttl * 1000) / 3,
    );
    // A refresh must never keep a finished process alive.
    timer.unref();
  };
  schedule();
  return stop;
}
