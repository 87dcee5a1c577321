import type { WorkerJob } from '../execution/worker-job.js';

/** A job failed for good: it is in the failed-job store and its failed() ran. */
export class JobFailed {
  constructor(
    readonly connectionName: string,
    readonly job: WorkerJob,
    readonly error: Error,
    readonly durationMs: number,
  ) {}
}
