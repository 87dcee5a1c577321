import type { StoredFailedJob } from '../contracts/failed-job-store.js';

/**
 * A failed job is about to be pushed back (`queue:retry`, `queue:retry-batch` or
 * `retryFailedJob`): emitted before the push, with the failed record as it was stored.
 */
export class JobRetryRequested {
  constructor(readonly record: StoredFailedJob) {}

  /** The stored payload, parsed. */
  payload(): Record<string, unknown> {
    return JSON.parse(this.record.payload) as Record<string, unknown>;
  }
}
