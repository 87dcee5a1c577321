/** `queue:monitor` found a queue at or over its `--max` size. */
export class QueueBusy {
  constructor(
    readonly connectionName: string,
    readonly queue: string,
    readonly size: number,
  ) {}
}
