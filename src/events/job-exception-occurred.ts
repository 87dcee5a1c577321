import type { WorkerJob } from '../execution/worker-job.js';

/** A job threw (whatever happens to it next). */
export class JobExceptionOccurred {
  constructor(
    readonly connectionName: string,
    readonly job: WorkerJob,
    readonly error: Error,
  ) {}
}
