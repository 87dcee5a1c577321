import type { WorkerJob } from '../execution/worker-job.js';

/** A job threw and was put back for another attempt after `backoff` seconds. */
export class JobReleasedAfterException {
  constructor(
    readonly connectionName: string,
    readonly job: WorkerJob,
    readonly error: Error,
    readonly backoff: number,
    readonly durationMs: number,
  ) {}
}
