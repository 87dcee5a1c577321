import type { Knex } from 'knex';

import type { JobMiddleware } from '../contracts/job-middleware.js';
import type { JobOptions } from '../job/job-options.js';
import { report, track } from '../runtime/current.js';
import type { DispatchOptions } from './dispatch-options.js';
import { pushToQueue } from './dispatcher.js';

/**
 * A dispatch being prepared. Options set in the same tick as `dispatch()` apply; the push starts
 * on the next microtask whether or not anyone awaits. Awaiting resolves to the job id (null when
 * `dispatchIf`/`dispatchUnless` skipped it, or a unique job's lock was held: `UniqueJobSkipped`)
 * and surfaces errors; a push nobody awaits that fails
 * is reported through the configured `report`, never swallowed.
 */
export class PendingDispatch<T extends object = object> implements PromiseLike<string | null> {
  private readonly dispatch: DispatchOptions = { options: {} };
  private started: Promise<string | null> | undefined;
  private observed = false;

  constructor(
    /** The job instance being dispatched. */
    readonly job: T,
    private readonly skip = false,
  ) {
    queueMicrotask(() => void this.start());
  }

  /** Sends the job to a named queue on its connection. */
  onQueue(queue: string): this {
    return this.set(() => (this.dispatch.queue = queue));
  }

  /** Sends the job through a named connection. */
  onConnection(connection: string): this {
    return this.set(() => (this.dispatch.connection = connection));
  }

  /** Makes the job available only after `seconds`, or at a given instant. */
  delay(delay: number | Date): this {
    return this.set(() => (this.dispatch.delay = delay));
  }

  /** Overrides `@Job` options (tries, backoff, timeout …) for this dispatch only. */
  options(options: Partial<JobOptions>): this {
    return this.set(() => Object.assign(this.dispatch.options, options));
  }

  /** Runs these jobs (or pending batches) one after another once this one succeeds (Laravel's withChain). */
  chain(jobs: readonly object[]): this {
    return this.set(() => (this.dispatch.chain = [...jobs]));
  }

  /**
   * Pushes the job only once the transaction commits, and drops it if the transaction rolls
   * back. Without an argument: the ambient transaction of `Bus.withinTransaction` (none: at once).
   * Awaiting resolves to null then: the job has no id until the commit.
   */
  afterCommit(transaction?: Knex.Transaction): this {
    return this.set(() => (this.dispatch.afterCommit = transaction ?? true));
  }

  /** Pushes at once even when the job, or its connection, asks for afterCommit. */
  beforeCommit(): this {
    return this.set(() => (this.dispatch.afterCommit = false));
  }

  /**
   * Inserts the job inside the application's own knex transaction (the queue's tables must live
   * in that database): the job and the application's data commit together or not at all.
   */
  withTransaction(transaction: Knex.Transaction): this {
    return this.set(() => (this.dispatch.transaction = transaction));
  }

  /**
   * Runs the job through these middleware on the worker, after the ones its own `middleware()`
   * returns. They travel in the payload, so each must be an instance of a class registered with
   * `@JobMiddleware()` holding plain data (a function is refused at dispatch). Calling it again
   * replaces the list, as Laravel's `through()` does.
   */
  through(middleware: JobMiddleware<any> | readonly JobMiddleware<any>[]): this {
    return this.set(() => (this.dispatch.middleware = ([] as JobMiddleware<any>[]).concat(middleware)));
  }

  then<R1 = string | null, R2 = never>(
    onFulfilled?: ((id: string | null) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    this.observed = true;
    return this.start().then(onFulfilled, onRejected);
  }

  private set(apply: () => unknown): this {
    if (this.started) {
      throw new Error(
        `The dispatch of ${this.job.constructor.name} was already sent; set its options in the same statement as dispatch().`,
      );
    }
    apply();
    return this;
  }

  private start(): Promise<string | null> {
    if (this.started) return this.started;
    this.started = this.skip ? Promise.resolve(null) : track(pushToQueue(this.job, this.dispatch));
    this.started.catch((error: unknown) => {
      if (!this.observed) report(error);
    });
    return this.started;
  }
}
