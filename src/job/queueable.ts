import type { Batch } from '../bus/batch.js';
import { findBatch } from '../bus/batch.js';
import { dispatch, dispatchSync, skippedDispatch } from '../bus/dispatch.js';
import type { PendingDispatch } from '../bus/pending-dispatch.js';
import * as fake from '../testing/fake-queue-interactions.js';
import { type JobInfo, jobContextOf } from './job-context.js';

type JobClass<T extends Queueable> = new (...args: any[]) => T;
const idleSignal = new AbortController().signal;

/**
 * The base class of every job. Subclasses hold plain data in their properties, declare a
 * `handle(...services)` method (parameters are resolved from the container by type) and are
 * decorated with `@Job(...)`.
 */
export abstract class Queueable {
  /** Creates the job with these constructor arguments and pushes it; await for the job id. */
  static dispatch<C extends JobClass<Queueable>>(
    this: C,
    ...args: ConstructorParameters<C>
  ): PendingDispatch<InstanceType<C>> {
    return dispatch(new this(...args) as InstanceType<C>);
  }

  /** Runs the job now, in this process, through the same payload round trip as a worker. */
  static dispatchSync<C extends JobClass<Queueable>>(this: C, ...args: ConstructorParameters<C>): Promise<void> {
    return dispatchSync(new this(...args));
  }

  /** Dispatches when `condition` is true (or returns true); otherwise resolves to null. */
  static dispatchIf<C extends JobClass<Queueable>>(
    this: C,
    condition: boolean | (() => boolean),
    ...args: ConstructorParameters<C>
  ): PendingDispatch<InstanceType<C>> {
    const pass = typeof condition === 'function' ? condition() : condition;
    return pass
      ? dispatch(new this(...args) as InstanceType<C>)
      : skippedDispatch(new this(...args) as InstanceType<C>);
  }

  /** Dispatches unless `condition` is true (or returns true). */
  static dispatchUnless<C extends JobClass<Queueable>>(
    this: C,
    condition: boolean | (() => boolean),
    ...args: ConstructorParameters<C>
  ): PendingDispatch<InstanceType<C>> {
    const skip = typeof condition === 'function' ? condition() : condition;
    return skip
      ? skippedDispatch(new this(...args) as InstanceType<C>)
      : dispatch(new this(...args) as InstanceType<C>);
  }

  /** Attempts so far including this one (1 on the first run, and when not running on a queue); in failed(), the attempt that failed. */
  attempts(): number {
    return jobContextOf(this)?.info.attempts ?? 1;
  }

  /** Puts the job back on its queue, available again after `delaySeconds`. Spends the attempt. */
  release(delaySeconds = 0): void {
    this.requireContext('release').release(delaySeconds);
  }

  /** Removes the job from the queue without running it again. */
  delete(): void {
    this.requireContext('delete').delete();
  }

  /** Fails the job now: it goes to `failed_jobs` and `failed()` runs, whatever tries remain. */
  fail(error?: Error | string): void {
    this.requireContext('fail').fail(error);
  }

  /**
   * The row this attempt runs from: id, uuid, queue, connection, attempts, displayName. It is
   * there whenever `handle()` (or the job's middleware) runs: on a worker, on the sync
   * connection, under `dispatchSync()`, and after `withFakeQueueInteractions()` in a test; and in
   * `failed()`, where it describes the attempt that failed. Anywhere else (a `handle()` called by
   * hand, a method errand calls at dispatch such as `uniqueId()` or `backoff()`) there is no
   * attempt, and reading it throws, naming the job.
   */
  get job(): JobInfo {
    const info = jobContextOf(this)?.info;
    if (!info) {
      throw new Error(
        `${this.constructor.name}.job is only set while the job runs (in handle(), its middleware and failed(), on a worker, the sync connection, ` +
          'dispatchSync(), or after withFakeQueueInteractions()); there is no attempt here.',
      );
    }
    return info;
  }

  /** Aborts when the attempt times out or the worker shuts down; pass it to fetch() and friends. */
  get signal(): AbortSignal {
    return jobContextOf(this)?.signal ?? idleSignal;
  }

  /**
   * The batch this job belongs to, read fresh (for a batch callback job: the batch it was called
   * for); undefined outside a batch.
   */
  async batch(): Promise<Batch | undefined> {
    const info = jobContextOf(this)?.info;
    const id = info?.batchId ?? info?.callback?.batchId;
    return id ? findBatch(id) : undefined;
  }

  /** For a chain or batch catch callback job: the error that triggered it. */
  failure(): { name: string; message: string } | undefined {
    return jobContextOf(this)?.info.callback?.error;
  }

  /** Runs `job` right after this one (before the rest of its chain) once this one succeeds. */
  prependToChain(job: object): void {
    const chain = this.requireChain('prependToChain');
    chain.links.unshift(chain.encode(job));
  }

  /** Runs `job` at the end of this job's chain (starting a chain if it had none). */
  appendToChain(job: object): void {
    const chain = this.requireChain('appendToChain');
    chain.links.push(chain.encode(job));
  }

  /**
   * Testing: records what `handle()` asks of the queue (`release`, `delete`, `fail`) so the
   * `assertReleased()` … assertions below can check it, without a worker or a database.
   */
  withFakeQueueInteractions(): this {
    return fake.withFakeQueueInteractions(this);
  }

  /** Testing (after `withFakeQueueInteractions()`): the job released itself, after `delay` seconds if given. */
  assertReleased(delay?: number): void {
    fake.assertReleased(this, delay);
  }

  /** Testing (after `withFakeQueueInteractions()`): the job did not release itself. */
  assertNotReleased(): void {
    fake.assertNotReleased(this);
  }

  /** Testing (after `withFakeQueueInteractions()`): the job deleted itself. */
  assertDeleted(): void {
    fake.assertDeleted(this);
  }

  /** Testing (after `withFakeQueueInteractions()`): the job did not delete itself. */
  assertNotDeleted(): void {
    fake.assertNotDeleted(this);
  }

  /** Testing (after `withFakeQueueInteractions()`): the job failed itself with `this.fail()`. */
  assertFailed(): void {
    fake.assertFailed(this);
  }

  /** Testing (after `withFakeQueueInteractions()`): the job failed itself with this error class, message (or RegExp), or error. */
  assertFailedWith(expected: (abstract new (...args: any[]) => Error) | Error | string | RegExp): void {
    fake.assertFailedWith(this, expected);
  }

  /** Testing (after `withFakeQueueInteractions()`): the job did not fail itself. */
  assertNotFailed(): void {
    fake.assertNotFailed(this);
  }

  private requireChain(method: string) {
    const chain = this.requireContext(method).chain;
    if (!chain)
      throw new Error(`${this.constructor.name}.${method}() can only be called while the job runs on a queue.`);
    return chain;
  }

  private requireContext(method: string) {
    const context = jobContextOf(this);
    if (!context)
      throw new Error(`${this.constructor.name}.${method}() can only be called while the job runs on a queue.`);
    return context;
  }
}
