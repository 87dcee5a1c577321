import type { WorkerStopReason } from '../worker/stop-conditions.js';

/** A worker is about to return from run(). */
export class WorkerStopping {
  constructor(
    readonly status: number,
    readonly reason: WorkerStopReason,
    readonly jobsProcessed: number,
  ) {}
}
