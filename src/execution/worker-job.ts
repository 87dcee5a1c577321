import type { ReservedJob } from '../contracts/reserved-job.js';
import type { JobPayload } from '../payload/job-payload.js';

/** A claimed job as the worker and its events see it: the row, and its payload when it parsed. */
export class WorkerJob {
  constructor(
    readonly reserved: ReservedJob,
    readonly connectionName: string,
    readonly payload: JobPayload | undefined,
  ) {}

  get id(): string {
    return this.reserved.id;
  }

  get queue(): string {
    return this.reserved.queue;
  }

  get attempts(): number {
    return this.reserved.attempts;
  }

  get uuid(): string | undefined {
    return this.payload?.uuid;
  }

  /** The job's name, or a placeholder when its payload could not be read. */
  get displayName(): string {
    return this.payload?.displayName ?? `unreadable job #${this.reserved.id}`;
  }
}
