import { appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * `RELIABILITY_SCALE=full` runs the published sizes (100,000 jobs, 50 kills …); anything else the
 * sizes that fit CI. Scenarios ask `sized(ci, full)` for each of their numbers.
 */
export const FULL = process.env.RELIABILITY_SCALE === 'full';

export function sized<T>(ci: T, full: T): T {
  return FULL ? full : ci;
}

/**
 * Where scenarios append their result rows; the global setup empties it at the start and prints
 * it as one table at the end. RELIABILITY_RESULTS names another file, so two runs side by side
 * (a full-size batch and a rerun of one scenario) do not wipe each other's rows.
 */
export const RESULTS_FILE =
  process.env.RELIABILITY_RESULTS || path.join(os.tmpdir(), 'errand-reliability-results.jsonl');

/** One row of the summary table. */
export interface ScenarioResult {
  scenario: string;
  engine: string;
  jobs: number;
  executions: number;
  duplicates: number;
  lost: number;
  /** The longest any reservation was seen to last, in ms (undefined when not watched). */
  maxReservedMs?: number;
  /** Worker restarts (kills and crashes replaced) or database restarts, as the scenario counts them. */
  restarts?: number;
  seconds: number;
}

/** Appends a scenario's figures to the run's summary. */
export function recordResult(result: ScenarioResult): void {
  appendFileSync(RESULTS_FILE, `${JSON.stringify(result)}\n`);
}
