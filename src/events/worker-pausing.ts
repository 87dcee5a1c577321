/** The worker stops claiming (SIGUSR2); jobs in flight carry on. */
export class WorkerPausing {
  constructor(readonly connectionName: string) {}
}
