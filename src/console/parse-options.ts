import { InvalidArgumentError } from 'commander';

/** A commander parser for whole numbers ≥ 0 that names the option in its error. */
export function wholeNumber(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${option} must be a whole number ≥ 0, got "${value}".`);
    return n;
  };
}

/** A commander parser for seconds ≥ 0 (fractions allowed). */
export function seconds(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${option} must be seconds ≥ 0, got "${value}".`);
    return n;
  };
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
