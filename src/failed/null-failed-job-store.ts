import type {
  CappedCount,
  FailedJobBrowser,
  FailedJobPage,
  FailedJobStore,
  StoredFailedJob,
} from '../contracts/failed-job-store.js';

/** Discards failed jobs (`failed: { driver: 'null' }`). */
export class NullFailedJobStore implements FailedJobStore {
  async all(): Promise<StoredFailedJob[]> {
    return [];
  }

  async count(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {}

  async find(): Promise<StoredFailedJob | undefined> {
    return undefined;
  }

  async flush(): Promise<number> {
    return 0;
  }

  async forget(): Promise<boolean> {
    return false;
  }

  async log(): Promise<void> {}
}

/** Browses the failed jobs a null store keeps: none. */
export class NullFailedJobBrowser implements FailedJobBrowser {
  async countUpTo(): Promise<CappedCount> {
    return { count: 0, capped: false };
  }

  async page(): Promise<FailedJobPage> {
    return { jobs: [], next: null };
  }

  async queues(): Promise<Array<{ connection: string; queue: string }>> {
    return [];
  }
}
