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
export function timeoutOutcome(policy: TimeoutPolicy, attempts: number, exceptions: number, nowSeconds: number): 'fail' | 'release' {
  if (policy.failOnTimeout) return 'fail';
  if (policy.retryUntil !== null) {
    if (policy.retryUntil <= nowSeconds) return 'fail';
  } else if (policy.maxTries > 0 && attempts >= policy.maxTries) {
    return 'fail';
  }
  if (policy.maxExceptions !== null && policy.maxExceptions > 0 && exceptions >= policy.maxExceptions) return 'fail';
  return 'release';
}
