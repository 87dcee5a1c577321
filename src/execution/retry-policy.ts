import type { JobPayload } from '../payload/job-payload.js';
import { calculateBackoff } from './backoff.js';

/** What decides a timed-out attempt's fate, read from the job's payload and the worker's options. */
export interface TimeoutPolicy {
  failOnTimeout: boolean;
  /** 0 = unlimited. */
  maxTries: number;
  /** Unix seconds, or null. */
  retryUntil: number | null;
  maxExceptions: number | null;
  /** Seconds before the retry. */
  backoff: number;
}

/**
 * Laravel's rules for an attempt that timed out: it counts as an exception; the job fails at once
 * with `failOnTimeout`, when its tries or `retryUntil` are used up, or when `maxExceptions` is
 * reached; otherwise it is retried after its backoff.
 */
export function timeoutOutcome(
  policy: TimeoutPolicy,
  attempts: number,
  exceptions: number,
  nowSeconds: number,
): 'fail' | 'release' {
  if (policy.failOnTimeout) return 'fail';
  if (policy.retryUntil !== null) {
    if (policy.retryUntil <= nowSeconds) return 'fail';
  } else if (policy.maxTries > 0 && attempts >= policy.maxTries) {
    return 'fail';
  }
  if (policy.maxExceptions !== null && policy.maxExceptions > 0 && exceptions >= policy.maxExceptions) return 'fail';
  return 'release';
}

/**
 * The policy of one attempt: the job's own settings from its payload, the worker's `tries` and
 * `backoff` for those it leaves out. The main thread and the watchdog both read it this way.
 */
export function timeoutPolicyFor(
  payload: JobPayload,
  attempts: number,
  defaults: { tries: number; backoff: number },
): TimeoutPolicy {
  return {
    failOnTimeout: Boolean(payload.failOnTimeout),
    maxTries: payload.maxTries ?? defaults.tries,
    retryUntil: payload.retryUntil,
    maxExceptions: payload.maxExceptions,
    backoff: calculateBackoff(payload.backoff, attempts, defaults.backoff),
  };
}
