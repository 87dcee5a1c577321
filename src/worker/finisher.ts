import type { QueueDriver } from '../contracts/queue-driver.js';
import type { ReservedJob } from '../contracts/reserved-job.js';

const MAX_BATCH = 500;

/**
 * Deletes finished jobs in batches without adding latency: the first delete goes out at once,
 * and deletes that arrive while a statement is in flight go out together in the next one (group
 * commit). Each caller learns whether its own row was still held.
 */
export class Finisher {
  private queue: Array<{ job: ReservedJob; resolve: (held: boolean) => void; reject: (error: unknown) => void }> = [];
  private flushing: Promise<void> | undefined;

  constructor(private readonly driver: QueueDriver) {}

  /** Deletes one finished job; resolves to false when its lease had been lost. */
  delete(job: ReservedJob): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** Resolves once every delete asked for so far has landed. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          const held = await this.driver.deleteMany(batch.map((entry) => entry.job));
          for (const entry of batch) entry.resolve(held.has(entry.job.id));
        } catch (error) {
          for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }
}
