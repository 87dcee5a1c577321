import type { WorkerJob } from '../execution/worker-job.js';

/** A job ran to completion (deleted, or released by its own request). */
export class JobProcessed {
  constructor(
    readonly connectionName: string,
    readonly job: WorkerJob,
    readonly durationMs: number,
    /** `released` when the job released itself (`this.release()`). */
    readonly result: 'deleted' | 'released' = 'deleted',
  ) {}
}
