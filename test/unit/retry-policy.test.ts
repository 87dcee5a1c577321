import { describe, expect, it } from 'vitest';

import {
  alreadyExceeded,
  calculateBackoff,
  exceptionOutcome,
  type RetryPolicy,
  retryPolicyFor,
  timeoutOutcome,
  timeoutReachesLease,
  willExceedAttempts,
  willExceedExceptions,
} from '../../src/execution/retry-policy.js';
import type { JobPayload } from '../../src/payload/job-payload.js';

const policy: RetryPolicy = {
  failOnTimeout: false,
  maxTries: 3,
  retryUntil: null,
  maxExceptions: null,
  backoff: 0,
};

describe('calculateBackoff', () => {
  it('uses the entry for the attempt, then the last, else the worker default', () => {
    expect(calculateBackoff('1,5,10', 1, 0)).toBe(1);
    expect(calculateBackoff('1,5,10', 2, 0)).toBe(5);
    expect(calculateBackoff('1,5,10', 3, 0)).toBe(10);
    expect(calculateBackoff('1,5,10', 9, 0)).toBe(10);
    expect(calculateBackoff('7', 4, 0)).toBe(7);
    expect(calculateBackoff(null, 1, 3)).toBe(3);
  });
});

describe('retryPolicyFor', () => {
  const payload = {
    maxTries: null,
    maxExceptions: 4,
    failOnTimeout: true,
    backoff: '2,9',
    retryUntil: 1234,
  } as JobPayload;
  it('takes the job’s own settings, and the worker’s tries and backoff for those it leaves out', () => {
    expect(retryPolicyFor(payload, 2, { tries: 5, backoff: 1 })).toEqual({
      failOnTimeout: true,
      maxTries: 5,
      retryUntil: 1234,
      maxExceptions: 4,
      backoff: 9,
    });
    expect(retryPolicyFor({ ...payload, maxTries: 2, backoff: null }, 1, { tries: 5, backoff: 1 })).toMatchObject({
      maxTries: 2,
      backoff: 1,
    });
  });
});

describe('the tries rules', () => {
  it('fails unrun a job claimed more often than its tries, or past its retryUntil', () => {
    expect(alreadyExceeded(policy, 3, 0)).toBe(false);
    expect(alreadyExceeded(policy, 4, 0)).toBe(true);
    expect(alreadyExceeded({ ...policy, maxTries: 0 }, 99, 0)).toBe(false);
    // retryUntil replaces the tries: the deadline alone counts.
    expect(alreadyExceeded({ ...policy, retryUntil: 100 }, 99, 100)).toBe(false);
    expect(alreadyExceeded({ ...policy, retryUntil: 100 }, 1, 101)).toBe(true);
  });
  it('fails a job whose failed attempt was its last', () => {
    expect(willExceedAttempts(policy, 2, 0)).toBe(false);
    expect(willExceedAttempts(policy, 3, 0)).toBe(true);
    expect(willExceedAttempts({ ...policy, retryUntil: 100 }, 9, 99)).toBe(false);
    expect(willExceedAttempts({ ...policy, retryUntil: 100 }, 1, 100)).toBe(true);
    expect(willExceedExceptions({ maxExceptions: 2 }, 1)).toBe(false);
    expect(willExceedExceptions({ maxExceptions: 2 }, 2)).toBe(true);
    expect(willExceedExceptions({ maxExceptions: 0 }, 9)).toBe(false);
    expect(willExceedExceptions({ maxExceptions: null }, 9)).toBe(false);
  });
  it('applies Laravel’s rules to an attempt that threw', () => {
    expect(exceptionOutcome(policy, 1, 1, 0)).toBe('release');
    expect(exceptionOutcome(policy, 3, 1, 0)).toBe('fail');
    // failOnTimeout is about timeouts only.
    expect(exceptionOutcome({ ...policy, failOnTimeout: true }, 1, 1, 0)).toBe('release');
    expect(exceptionOutcome({ ...policy, maxExceptions: 2 }, 1, 2, 0)).toBe('fail');
  });
  it('applies Laravel’s rules to a timed-out attempt', () => {
    expect(timeoutOutcome(policy, 1, 1, 0)).toBe('release');
    expect(timeoutOutcome(policy, 3, 1, 0)).toBe('fail');
    expect(timeoutOutcome({ ...policy, failOnTimeout: true }, 1, 1, 0)).toBe('fail');
    expect(timeoutOutcome({ ...policy, maxTries: 0 }, 99, 1, 0)).toBe('release');
    expect(timeoutOutcome({ ...policy, retryUntil: 100 }, 9, 1, 99)).toBe('release');
    expect(timeoutOutcome({ ...policy, retryUntil: 100 }, 1, 1, 100)).toBe('fail');
    expect(timeoutOutcome({ ...policy, maxExceptions: 2 }, 1, 2, 0)).toBe('fail');
  });
});

describe('timeoutReachesLease', () => {
  it('holds for a timeout of 0 (no limit) and for one that reaches the lease', () => {
    expect(timeoutReachesLease(0, 90)).toBe(true);
    expect(timeoutReachesLease(90, 90)).toBe(true);
    expect(timeoutReachesLease(89, 90)).toBe(false);
    // What is left of a prefetched job's lease may be fractional.
    expect(timeoutReachesLease(30, 29.5)).toBe(true);
  });
});
