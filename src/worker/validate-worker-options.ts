import type { LeaseSettings } from '../contracts/worker-queue.js';
import { ConfigError } from '../errors/config-error.js';
import { describeTimeout, timeoutReachesLease } from '../execution/retry-policy.js';
import { MAX_COUNT, numberProblem } from '../runtime/numeric-bounds.js';
import type { WorkerOptions } from './worker-options.js';

/**
 * Refuses options that cannot work, naming the option. In particular, with heartbeats off only
 * `retryAfter` protects a reservation, so a timeout that reaches it could run a job twice.
 */
export function validateWorkerOptions(options: WorkerOptions, leases: LeaseSettings | undefined): void {
  // The bounds the CLI flags have (src/console/parse-options.ts), for options given in code.
  const whole = (name: string, value: number, min: number) => {
    const problem = numberProblem(value, { min, max: MAX_COUNT, whole: true, unit: '' });
    if (problem) throw new ConfigError(`--${name} ${problem}.`);
  };
  whole('concurrency', options.concurrency, 1);
  whole('prefetch', options.prefetch, 0);
  whole('tries', options.tries, 0);
  whole('max-jobs', options.maxJobs, 0);
  whole('memory', options.memory, 0);
  for (const [name, value] of [
    ['timeout', options.timeout],
    ['sleep', options.sleep],
    ['rest', options.rest],
    ['backoff', options.backoff],
    ['max-time', options.maxTime],
    ['stop-when-empty-for', options.stopWhenEmptyFor],
    ['grace', options.grace ?? 0],
  ] as const) {
    const problem = numberProblem(value);
    if (problem) throw new ConfigError(`--${name} ${problem}.`);
  }
  if (leases && leases.heartbeat === false) {
    if (timeoutReachesLease(options.timeout, leases.retryAfter)) {
      throw new ConfigError(
        `--timeout ${describeTimeout(options.timeout)} is not below retryAfter (${leases.retryAfter} s) and heartbeats are off: ` +
          'a job could be claimed again while it still runs. Use a shorter --timeout, a larger retryAfter, or turn heartbeats on.',
      );
    }
  }
}
