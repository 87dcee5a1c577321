import type { JobPayload } from '../payload/job-payload.js';

// Laravel's retry rules, once: the worker's processor and its watchdog thread both decide a job's
// fate with these functions (Laravel's SIGALRM handler, too, calls the same markJobAsFailedIf…
// methods as its exception path).

/** What decides a failed or timed-out attempt's fate, read from the job's payload and the worker's options. */
export interface RetryPolicy {
  failOnTimeout: boolean;
  /** 0 = unlimited. */
  maxTries: number;
  /** Unix seconds, or null. */
  retryUntil: number | null;
  maxExceptions: number | null;
  /** Seconds before the retry of this attempt. */
  backoff: number;
}

/** The worker's settings a job falls back to: `--tries` and `--backoff`. */
export interface RetryDefaults {
  tries: number;
  backoff: number;
}

/**
 * The policy of one attempt: the job's own settings from its payload, the worker's `tries` and
 * `backoff` for those it leaves out.
 */
export function retryPolicyFor(payload: JobPayload, attempts: number, defaults: RetryDefaults): RetryPolicy {
  return {
    failOnTimeout: Boolean(payload.failOnTimeout),
    maxTries: maxTries(payload, defaults),
    retryUntil: payload.retryUntil,
    maxExceptions: payload.maxExceptions,
    backoff: calculateBackoff(payload.backoff, attempts, defaults.backoff),
  };
}

/** The job's tries: its own, else the worker's `--tries`; 0 = unlimited. */
export function maxTries(payload: Pick<JobPayload, 'maxTries'>, defaults: Pick<RetryDefaults, 'tries'>): number {
  return payload.maxTries ?? defaults.tries;
}

/**
 * Before an attempt runs: whether the job is already out of tries (claimed more often than its
 * tries allow, after a crash or a kill) or past its `retryUntil`. Such a job fails unrun.
 */
export function alreadyExceeded(
  policy: Pick<RetryPolicy, 'maxTries' | 'retryUntil'>,
  attempts: number,
  now = nowSeconds(),
): boolean {
  if (policy.retryUntil !== null) return now > policy.retryUntil;
  return policy.maxTries > 0 && attempts > policy.maxTries;
}

/** After a failed attempt: whether it was the last one its tries or its `retryUntil` allow. */
export function willExceedAttempts(
  policy: Pick<RetryPolicy, 'maxTries' | 'retryUntil'>,
  attempts: number,
  now = nowSeconds(),
): boolean {
  if (policy.retryUntil !== null) return policy.retryUntil <= now;
  return policy.maxTries > 0 && attempts >= policy.maxTries;
}

/** After a failed attempt: whether its exception count (this one included) reached `maxExceptions`. */
export function willExceedExceptions(policy: Pick<RetryPolicy, 'maxExceptions'>, exceptions: number): boolean {
  return policy.maxExceptions !== null && policy.maxExceptions > 0 && exceptions >= policy.maxExceptions;
}

/**
 * Laravel's rules for an attempt that threw: the job fails when its tries or `retryUntil` are used
 * up, or when `maxExceptions` is reached; otherwise it is retried after its backoff.
 * `exceptions` counts this attempt's.
 */
export function exceptionOutcome(
  policy: RetryPolicy,
  attempts: number,
  exceptions: number,
  now = nowSeconds(),
): 'fail' | 'release' {
  return willExceedAttempts(policy, attempts, now) || willExceedExceptions(policy, exceptions) ? 'fail' : 'release';
}

/**
 * Laravel's rules for an attempt that timed out: it counts as an exception, and with
 * `failOnTimeout` the job fails at once; otherwise as for any exception.
 */
export function timeoutOutcome(
  policy: RetryPolicy,
  attempts: number,
  exceptions: number,
  now = nowSeconds(),
): 'fail' | 'release' {
  return policy.failOnTimeout ? 'fail' : exceptionOutcome(policy, attempts, exceptions, now);
}

/**
 * Seconds to wait before the next attempt: `backoff[attempts - 1]`, the last entry once past the
 * end, or the worker's `--backoff` when the job sets none (Laravel's rule).
 */
export function calculateBackoff(backoff: string | null | undefined, attempts: number, fallback: number): number {
  if (!backoff) return fallback;
  const steps = backoff.split(',').map(Number);
  const index = Math.min(Math.max(attempts - 1, 0), steps.length - 1);
  const seconds = steps[index]!;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : fallback;
}

/**
 * The one guard of "a timeout must be below retryAfter when heartbeats are off": with no heartbeat
 * to renew it, a reservation lasts `leaseSeconds`, and a job that may run that long (or, with a
 * timeout of 0, for ever) could be claimed again while it still runs. The worker refuses such a
 * `--timeout` at start; its processor refuses such a job, and hands back one that waited in the
 * prefetch buffer until its timeout reaches what is left of its lease.
 */
export function timeoutReachesLease(timeout: number, leaseSeconds: number): boolean {
  return timeout === 0 || timeout >= leaseSeconds;
}

/** A timeout in words, as the guard's messages name it. */
export function describeTimeout(timeout: number): string {
  return timeout === 0 ? '0 (no limit)' : `${timeout} s`;
}

/** Now, in Unix seconds: the clock `retryUntil` is on. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
