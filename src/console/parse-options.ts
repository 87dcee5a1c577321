import { InvalidArgumentError } from 'commander';

import { MAX_COUNT, MAX_SECONDS, numberProblem } from '../runtime/numeric-bounds.js';

/**
 * A commander parser for whole numbers that names the option and the bound in its error: a
 * count from 0 to MAX_COUNT, or with `unit: 'seconds'` a duration from 0 to MAX_SECONDS.
 */
export function wholeNumber(option: string, unit: 'seconds' | '' = '') {
  return (value: string): number =>
    parseBounded(option, value, { whole: true, unit, max: unit ? MAX_SECONDS : MAX_COUNT });
}

/** A commander parser for seconds from 0 to MAX_SECONDS (fractions allowed). */
export function seconds(option: string) {
  return (value: string): number => parseBounded(option, value, { unit: 'seconds' });
}

/**
 * The longest age in hours the prune commands take: MAX_SECONDS in whole hours. The cutoff is
 * now minus this, compared with a timestamp column; past it the cutoff is no date at all.
 */
export const MAX_HOURS = Math.floor(MAX_SECONDS / 3600);

/** A commander parser for a number of hours from 0 to MAX_HOURS. */
export function hours(option: string) {
  return (value: string): number => {
    const n = value.trim() === '' ? Number.NaN : Number(value);
    if (!Number.isFinite(n) || n < 0 || n > MAX_HOURS)
      throw new InvalidArgumentError(`${option} must be a number of hours from 0 to ${MAX_HOURS}, got "${value}".`);
    return n;
  };
}

function parseBounded(option: string, value: string, bounds: Parameters<typeof numberProblem>[1]): number {
  const n = value.trim() === '' ? Number.NaN : Number(value);
  const problem = numberProblem(n, { ...bounds, got: JSON.stringify(value) });
  if (problem) throw new InvalidArgumentError(`${option} ${problem}.`);
  return n;
}

/** A comma-separated list of queue names. */
export function queueList(value: string): string[] {
  const names = value
    .split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError(`--queue needs at least one queue name, got "${value}".`);
  return names;
}

/** A commander parser for a comma-separated list of names that names `option` in its error. */
export function nameList(option: string) {
  return (value: string): string[] => {
    const names = value
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean);
    if (names.length === 0) throw new InvalidArgumentError(`${option} needs at least one name, got "${value}".`);
    return names;
  };
}
