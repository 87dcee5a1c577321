import type { DependencyContainer } from 'tsyringe';
import { ManuallyFailedError } from '../errors/manually-failed-error.js';
import type { CallbackContext, CallbackRef, ChainLink } from '../payload/job-payload.js';
import { numberProblem } from '../runtime/numeric-bounds.js';

/** What a running job knows about its own row. */
export interface JobInfo {
  readonly id: string;
  readonly uuid: string;
  readonly queue: string;
  readonly connection: string;
  readonly attempts: number;
  readonly displayName: string;
  /** The batch the job belongs to, if any. */
  readonly batchId?: string;
  /** What a callback job was dispatched for (the batch, the error). */
  readonly callback?: CallbackContext;
}

/** The rest of the chain a running job belongs to; prependToChain/appendToChain change it. */
export interface ChainState {
  links: ChainLink[];
  /** The chain's own connection, queue and catch callbacks, carried from job to job. */
  connection?: string;
  queue?: string;
  catchCallbacks?: CallbackRef[];
  /** Freezes a job into a link (its data is checked at once). */
  encode(job: object): ChainLink;
}

/** What `handle()` asked for with `release()`, `delete()` or `fail()`; acted on when it settles. */
export type JobIntent =
  | { readonly kind: 'release'; readonly delay: number }
  | { readonly kind: 'delete' }
  | { readonly kind: 'fail'; readonly error: Error };

/**
 * The per-attempt state behind `this.attempts()`, `this.release()` … Kept outside the job
 * instance (in a WeakMap) so it is never serialized with the job's data.
 */
export class JobContext {
  intent: JobIntent | undefined;
  private containerSource: (() => DependencyContainer) | undefined;
  /** The rest of the job's chain, when it runs on a queue. */
  chain: ChainState | undefined;

  /**
   * `signal` may be given as a function that makes it on first use: most handlers never read
   * `this.signal`, and an AbortController per attempt is a measurable share of a no-op job.
   */
  constructor(
    readonly info: JobInfo,
    private readonly signalSource: AbortSignal | (() => AbortSignal),
    /** Set for the context a `failed()` hook runs with: the job has already ended, so release/delete/fail refuse. */
    private readonly endedIn?: 'failed()',
  ) {}

  /** The attempt's child container, from the moment handle() is about to be called; made on first read. */
  get container(): DependencyContainer | undefined {
    return this.containerSource?.();
  }

  /** Gives the attempt its child container (a function, so it is made only if someone asks). */
  useContainer(source: () => DependencyContainer): void {
    this.containerSource = source;
  }

  /** Aborts at the attempt's timeout, and when a stopping worker's grace runs out. */
  get signal(): AbortSignal {
    return typeof this.signalSource === 'function' ? this.signalSource() : this.signalSource;
  }

  release(delay: number): void {
    this.refuseWhenEnded('release');
    const problem = numberProblem(delay);
    if (problem) throw new RangeError(`release() of ${this.info.displayName}: the delay ${problem}.`);
    this.intent = { kind: 'release', delay: Math.ceil(delay) };
  }

  delete(): void {
    this.refuseWhenEnded('delete');
    this.intent = { kind: 'delete' };
  }

  fail(error?: Error | string): void {
    this.refuseWhenEnded('fail');
    const reason =
      error instanceof Error
        ? error
        : new ManuallyFailedError(error ?? `${this.info.displayName} was marked as failed.`);
    this.intent = { kind: 'fail', error: reason };
  }

  // Nothing would act on the intent after the job ended: saying so beats ignoring the call.
  private refuseWhenEnded(method: string): void {
    if (this.endedIn)
      throw new Error(
        `${this.info.displayName}.${method}() cannot be called in ${this.endedIn}: the job has already failed.`,
      );
  }
}

const contexts = new WeakMap<object, JobContext>();

/** Attaches the running attempt's context to a job instance. */
export function bindJobContext(job: object, context: JobContext): void {
  contexts.set(job, context);
}

const neverAborted = new AbortController().signal;

/**
 * Gives the fresh copy a `failed()` hook runs on the context of the attempt that failed, so
 * `this.job` and `this.attempts()` there describe it (as Laravel sets the job before calling
 * `failed()`). `signal` is the worker's stop signal, if any.
 */
export function bindFailedHookContext(job: object, info: JobInfo, signal: AbortSignal = neverAborted): void {
  contexts.set(job, new JobContext(info, signal, 'failed()'));
}

/** The running attempt's context, if the job is running on a queue. */
export function jobContextOf(job: object): JobContext | undefined {
  return contexts.get(job);
}
