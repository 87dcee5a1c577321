/** The worker is about to claim jobs from a queue. */
export class JobPopping {
  constructor(
    readonly connectionName: string,
    readonly queue: string,
  ) {}
}
