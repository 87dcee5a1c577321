import { MAX_TIMER_MS } from './timer-limit.js';

/**
 * The largest count errand stores or compares with one (attempts, exceptions, tries,
 * maxExceptions): 2^31 − 1, what an `integer` column holds on every engine (PostgreSQL's is
 * signed 32-bit; MariaDB's `int unsigned` and SQLite's integer hold more). Decision 0036.
 */
export const MAX_COUNT = 2 ** 31 - 1;

/**
 * The longest duration in seconds errand accepts for a delay, backoff, timeout, retryUntil
 * window, lock or limit expiry, retryAfter and the like: 2^31 − 1 s (about 68 years). Added to
 * the clock it stays far inside `available_at`/`expires_at` (bigint) on every engine and a safe
 * integer in JavaScript, and a release or insert can never overflow on it. Decision 0036.
 */
export const MAX_SECONDS = 2 ** 31 - 1;

/** The longest wait a single Node timer holds, in whole seconds (for options used as one timer). */
export const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/**
 * What is wrong with `value` as a number of seconds (or a count, with `unit: ''`), or undefined
 * when it is fine: finite, at least `min` (default 0), at most `max` (default MAX_SECONDS), whole
 * when `whole`; `got` is how the value is shown (the text of a CLI flag). Every entry point (decorator, dispatch, CLI flag, config, payload) words its
 * error with this, prefixed by the option it checks.
 */
export function numberProblem(
  value: unknown,
  bounds: { min?: number; max?: number; whole?: boolean; unit?: 'seconds' | ''; got?: string } = {},
): string | undefined {
  const { min = 0, max = MAX_SECONDS, whole = false, unit = 'seconds', got } = bounds;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= min &&
    value <= max &&
    (!whole || Number.isInteger(value));
  if (ok) return undefined;
  const kind = whole ? `a whole number${unit ? ` of ${unit}` : ''}` : unit ? `a number of ${unit}` : 'a number';
  return `must be ${kind} from ${min} to ${max}, got ${got ?? (typeof value === 'string' ? JSON.stringify(value) : String(value))}`;
}
