/** `queue:resume` resumed a queue this worker works. */
export class WorkerQueueResumed {
  constructor(
    readonly connectionName: string,
    readonly queue: string,
  ) {}
}
