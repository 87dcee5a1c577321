import type { WorkerJob } from '../execution/worker-job.js';

/** A worker is about to run a job. */
export class JobProcessing {
  constructor(
    readonly connectionName: string,
    readonly job: WorkerJob,
  ) {}
}
