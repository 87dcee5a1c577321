import { ErrandError } from './errand-error.js';

/** One piece of after-commit work that failed, and why. */
export interface AfterCommitFailure {
  /** What failed to happen, e.g. `Job ShipOrder on [database]`. */
  readonly what: string;
  readonly error: unknown;
}

/**
 * The transaction committed, but work that waited for its commit failed: an `afterCommit`
 * dispatch could not be stored (or its `JobQueued` listeners threw). The application's data is
 * committed; `failures` says which dispatches did not happen. The awaited `knex.transaction(...)`
 * (or `trx.commit()`) rejects with it, once every other after-commit dispatch has been tried.
 * Work sent to the `sync` connection runs after that promise has settled: its failures go to
 * the `report` hook in one of these.
 */
export class AfterCommitError extends ErrandError {
  constructor(
    readonly failures: readonly AfterCommitFailure[],
    total: number,
  ) {
    const list = failures
      .map((f) => `${f.what}: ${f.error instanceof Error ? f.error.message : String(f.error)}`)
      .join('; ');
    super(`The transaction committed, but ${failures.length} of its ${total} after-commit dispatches failed: ${list}`, {
      cause: failures[0]?.error,
    });
  }
}
