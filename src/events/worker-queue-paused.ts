/** `queue:pause` paused a queue this worker works; it stops claiming from it. */
export class WorkerQueuePaused {
  constructor(
    readonly connectionName: string,
    readonly queue: string,
  ) {}
}
