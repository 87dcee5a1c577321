/**
 * The worker is about to look for jobs. A listener that returns `false` makes it skip this round
 * (and sleep), as Laravel's `Queue::looping` does.
 */
export class Looping {
  constructor(
    readonly connectionName: string,
    readonly queues: readonly string[],
  ) {}
}
