// 5 ms: a job dispatched from another process while jobs are flowing starts within a few
// milliseconds on MariaDB and SQLite too (no LISTEN there); the doubling makes the fast looks few.
const FASTEST = 0.005;

/**
 * Adaptive polling: right after a claim that found jobs the next look comes almost at once, and
 * each empty look doubles the wait until it is back at `--sleep`.
 */
export class PollDelay {
  private current: number;

  constructor(private readonly sleep: number) {
    this.current = sleep;
  }

  /** Seconds to wait before the next claim, given whether the last one found jobs. */
  next(found: boolean): number {
    if (found) this.current = 0;
    else this.current = Math.min(this.sleep, Math.max(FASTEST, this.current * 2));
    return this.current;
  }

  /** Jobs are known to be waiting (a wake-up): poll fast again. */
  reset(): void {
    this.current = 0;
  }
}
