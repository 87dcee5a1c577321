import type { WorkerJob } from '../execution/worker-job.js';

/** A job ran past its timeout; its signal was aborted. */
export class JobTimedOut {
  constructor(
    readonly connectionName: string,
    readonly job: WorkerJob,
    readonly timeout: number,
  ) {}
}
