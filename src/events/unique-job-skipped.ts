/**
 * A unique job was not queued because another job holds its unique lock (`@Job({ unique: true })`):
 * nothing was pushed and the dispatch resolved to null. Laravel skips such a dispatch silently;
 * errand says so here, and nowhere else (it is not an error, so `report` is not called).
 */
export class UniqueJobSkipped {
  constructor(
    /** The connection the job would have gone to. */
    readonly connectionName: string,
    /** The queue the job would have gone to. */
    readonly queue: string,
    /** The job instance that was not queued. */
    readonly job: object,
    /** The registered job name. */
    readonly jobName: string,
    /** The unique lock key: `errand:unique:{job name}:{unique id}`. */
    readonly key: string,
    /** The uuid of the queued job holding the lock, if it could still be read (null: released since). */
    readonly holder: string | null,
  ) {}
}
