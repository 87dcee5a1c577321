import type { WorkerStopReason } from '../worker/stop-conditions.js';

/** A worker is about to return from run(), with the status it exits with and why. */
export class WorkerStopping {
  constructor(
    readonly status: number,
    readonly reason: WorkerStopReason,
    readonly jobsProcessed: number,
    /** Resident memory in megabytes when it stopped. */
    readonly memoryMb: number = process.memoryUsage().rss / 1024 / 1024,
  ) {}
}
