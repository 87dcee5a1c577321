import type { QueueDriver } from '../../contracts/queue-driver.js';
import type { ReservedJob } from '../../contracts/reserved-job.js';

/** The `null` driver: every job is discarded (useful to switch queueing off). */
export class NullQueue implements QueueDriver {
  readonly defaultQueue = 'default';

  constructor(readonly connectionName: string) {}

  async bulk(requests: readonly unknown[]): Promise<string[]> {
    return requests.map(() => '');
  }

  async claim(): Promise<ReservedJob[]> {
    return [];
  }

  async clear(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {}

  async delete(): Promise<boolean> {
    return true;
  }

  async deleteMany(jobs: readonly ReservedJob[]): Promise<Set<string>> {
    return new Set(jobs.map((job) => job.id));
  }

  async fail(): Promise<boolean> {
    return true;
  }

  async push(): Promise<string> {
    return '';
  }

  async release(): Promise<boolean> {
    return true;
  }

  async size(): Promise<number> {
    return 0;
  }

  async unclaim(): Promise<number> {
    return 0;
  }
}
