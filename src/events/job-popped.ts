import type { ReservedJob } from '../contracts/reserved-job.js';

/** The worker claimed a job (it may wait in the prefetch buffer before it runs). */
export class JobPopped {
  constructor(
    readonly connectionName: string,
    readonly job: ReservedJob,
  ) {}
}
