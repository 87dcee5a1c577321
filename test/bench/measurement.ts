/** One benchmark figure: printed as one JSON line, gathered into the table and docs/performance.md. */
export interface Measurement {
  /** `errand`, `raw-sql`, or a peer's package name. */
  system: string;
  /** A named group of settings (`default`, `fast`), when the system is measured more than one way. */
  preset?: string;
  engine: string;
  /** `enqueue-one`, `enqueue-bulk`, `drain`, `latency`, `idle-cpu`, `memory`, `claim-growth` … */
  scenario: string;
  concurrency?: number;
  processes?: number;
  jobs?: number;
  value: number;
  unit: string;
  /** Anything else worth keeping: percentiles, RSS, plans, the settings used. */
  [extra: string]: unknown;
}

/** Prints a measurement as the one JSON line a scenario process writes. */
export function emit(measurement: Measurement): void {
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
}

/** The q-quantile (0…1) of a list of numbers, by nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Rounds for display and JSON: three significant decimals are noise on a shared machine. */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
