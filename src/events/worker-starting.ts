import type { WorkerOptions } from '../worker/worker-options.js';

/** A worker has registered and is about to claim its first jobs. */
export class WorkerStarting {
  constructor(
    readonly connectionName: string,
    readonly queues: readonly string[],
    readonly options: WorkerOptions,
    /** The worker's id: its lease token and its row in the workers table. */
    readonly workerId: string,
  ) {}
}
