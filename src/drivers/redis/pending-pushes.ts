import type { PushRequest } from '../../contracts/queue.js';

/**
 * The store transaction a redis queue hands to a finishing write's `within` (a chain's next job
 * on the same connection): Redis cannot hold a job's delete and another queue's insert in one
 * atomic step on a cluster, so the pushes are collected here, with their ids already made, and
 * stored just before the fenced delete (the order that loses nothing: at worst a job whose lease
 * was lost meanwhile runs again).
 */
export class PendingPushes {
  readonly requests: PushRequest[] = [];
  readonly ids: string[] = [];

  constructor(
    /** The queue whose finishing write this is: only its own pushes may join. */
    readonly owner: object,
  ) {}

  add(requests: readonly PushRequest[], ids: readonly string[]): void {
    this.requests.push(...requests);
    this.ids.push(...ids);
  }
}
