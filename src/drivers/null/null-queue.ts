import type { Queue } from '../../contracts/queue.js';

/** The `null` driver: every job is discarded (useful to switch queueing off). */
export class NullQueue implements Queue {
  readonly defaultQueue = 'default';
  readonly runsJobsInline = false;

  constructor(readonly connectionName: string) {}

  async bulk(requests: readonly unknown[]): Promise<string[]> {
    return requests.map(() => '');
  }

  async clear(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {}

  async push(): Promise<string> {
    return '';
  }

  /** Nothing is stored, so nothing can share a transaction with it. */
  sharesStoreWith(): boolean {
    return false;
  }

  async size(): Promise<number> {
    return 0;
  }
}
