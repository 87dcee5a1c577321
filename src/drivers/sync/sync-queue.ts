import type { PushRequest, Queue } from '../../contracts/queue.js';

/** The `sync` driver: a push runs the job at once, in the caller's process. */
export class SyncQueue implements Queue {
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

  async clear(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {}

  /** Runs the job; resolves to its uuid, or throws what the job threw. */
  async push(request: PushRequest): Promise<string> {
    await this.runPayload(request.payload);
    return (JSON.parse(request.payload) as { uuid: string }).uuid;
  }

  /** Nothing is stored, so nothing can share a transaction with it. */
  sharesStoreWith(): boolean {
    return false;
  }

  async size(): Promise<number> {
    return 0;
  }
}
