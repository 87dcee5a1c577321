import type { JobPayload } from '../payload/job-payload.js';

/** A job was stored on a queue connection. */
export class JobQueued {
  constructor(
    readonly connectionName: string,
    readonly queue: string,
    readonly id: string,
    readonly payload: JobPayload,
    readonly delay: number | Date | undefined,
  ) {}
}
