/** The worker claims again (SIGCONT after SIGUSR2). */
export class WorkerResuming {
  constructor(readonly connectionName: string) {}
}
