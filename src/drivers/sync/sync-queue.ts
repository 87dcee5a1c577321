import type { FailedJobStore } from '../../contracts/failed-job-store.js';
import type { PushRequest, QueueDriver } from '../../contracts/queue-driver.js';
import type { ReservedJob } from '../../contracts/reserved-job.js';

/** The `sync` driver: a push runs the job at once, in the caller's process. */
export class SyncQueue implements QueueDriver {
  readonly defaultQueue = 'default';
  /** Jobs run in `push`, in this process. */
  readonly runsJobsInline = true;

  constructor(
    readonly connectionName: string,
    private readonly runPayload: (payload: string) => Promise<void>,
  ) {}

  async bulk(requests: readonly PushRequest[]): Promise<string[]> {
    const ids: string[] = [];
    for (const request of requests) ids.push(await this.push(request));
    return ids;
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

  async fail(_job: ReservedJob, _record: unknown, _store: FailedJobStore): Promise<boolean> {
    return true;
  }

  /** Runs the job; resolves to its uuid, or throws what the job threw. */
  async push(request: PushRequest): Promise<string> {
    await this.runPayload(request.payload);
    return (JSON.parse(request.payload) as { uuid: string }).uuid;
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
