import { randomUUID } from 'node:crypto';

import type { Batch } from '../bus/batch.js';
import type { InterceptedDispatch } from '../bus/dispatch-interceptor.js';
import { jobRegistry } from '../job/job-registry.js';
import { effectiveOptions, registeredJobOf } from '../payload/encode-payload.js';
import { runtime } from '../runtime/current.js';
import { InterceptingFake } from './intercepting-fake.js';
import {
  chainMatches,
  describeChain,
  type FakeSelection,
  fail,
  type JobClass,
  selects,
  show,
  tally,
} from './job-matching.js';
import { type PendingBatchFake, RecordedBatches } from './recorded-batches.js';
import { serializeAndRestore } from './serialize-and-restore.js';

/** Options of `Queue.fake()`. */
export interface QueueFakeOptions extends FakeSelection {
  /**
   * Sends every recorded job through the real encode → JSON → decode round trip (models fetched
   * fresh) and records the copy a worker would get; data that would not survive the queue makes
   * the dispatch reject.
   */
  serializeAndRestore?: boolean;
}

/** A job `Queue.fake()` recorded, with where it would have gone. */
export interface PushedJob<J extends object = object> {
  readonly job: J;
  readonly connection: string;
  readonly queue: string;
  readonly delay?: number | Date;
  /** The jobs (or pending batches) chained after it, as given. */
  readonly chain: readonly object[];
  /** The fake id the dispatch resolved to. */
  readonly id: string;
}

/** Narrows the recorded jobs: gets the job and where it was pushed. */
export type PushedPredicate<J extends object> = (job: J, pushed: PushedJob<J>) => boolean;

/**
 * What `Queue.fake()` returns: the jobs pushed while it is installed (instead of being stored),
 * and assertions about them that throw `AssertionError` (vitest, jest and node:test all report
 * those). A batch is recorded instead of stored (`batched()`, `assertBatched`), its jobs as
 * pushed; `dispatchSync` is not a push and still runs (use `Bus.fake()` to record it).
 */
export class QueueFake extends InterceptingFake {
  private readonly recorded: PushedJob[] = [];
  private readonly batches = new RecordedBatches();
  private readonly options: QueueFakeOptions;

  constructor(options: readonly JobClass[] | QueueFakeOptions = {}) {
    super();
    this.options = Array.isArray(options) ? { only: options } : (options as QueueFakeOptions);
  }

  protected intercept(dispatch: InterceptedDispatch): Promise<string | Batch> | undefined {
    if (dispatch.kind === 'push' || dispatch.kind === 'bulk') {
      if (!selects(this.options, dispatch.job)) return undefined;
      return this.record(dispatch.job, dispatch.connection, dispatch.queue, dispatch.delay, dispatch.chain);
    }
    if (dispatch.kind === 'chain') {
      const [first, ...rest] = dispatch.jobs;
      if (!first || !selects(this.options, first)) return undefined;
      return (async () => {
        const { connection, queue } = await destination(first, dispatch.connection, dispatch.queue);
        return this.record(first, connection, queue, dispatch.delay, rest);
      })();
    }
    if (dispatch.kind === 'batch') return this.recordBatch(dispatch);
    return undefined;
  }

  /**
   * A batch is stored, and its jobs pushed, as one: it cannot be split between the fake and a
   * database. It is recorded whole, with nothing stored, unless the fake takes none of its jobs;
   * each job the fake takes (a chain inside the batch: its first job, carrying the rest) is
   * recorded as pushed where it would have gone.
   */
  private recordBatch(dispatch: Extract<InterceptedDispatch, { kind: 'batch' }>): Promise<Batch> | undefined {
    const members = dispatch.jobs.flatMap((entry) =>
      Array.isArray(entry) ? (entry as readonly object[]) : [entry as object],
    );
    const takes = members.length === 0 ? !this.options.only?.length : members.some((job) => selects(this.options, job));
    if (!takes) return undefined;
    return (async () => {
      for (const entry of dispatch.jobs) {
        const [first, ...rest] = Array.isArray(entry) ? (entry as readonly object[]) : [entry as object];
        if (!first || !selects(this.options, first)) continue;
        const { connection, queue } = await destination(first, dispatch.connection, dispatch.queue);
        await this.record(first, connection, queue, undefined, rest);
      }
      return this.batches.record(dispatch);
    })();
  }

  private async record(
    job: object,
    connection: string,
    queue: string,
    delay: number | Date | undefined,
    chain: readonly object[],
  ): Promise<string> {
    if (this.options.serializeAndRestore) {
      job = await serializeAndRestore(job);
      const restored: object[] = [];
      for (const entry of chain)
        restored.push(jobRegistry.byClass(entry.constructor) ? await serializeAndRestore(entry) : entry);
      chain = restored;
    }
    const id = `fake-${randomUUID()}`;
    this.recorded.push({ job, connection, queue, ...(delay !== undefined ? { delay } : {}), chain: [...chain], id });
    return id;
  }

  /** The batches recorded instead of stored (`Bus.batch(...).dispatch()`), in order. */
  batched(): PendingBatchFake[] {
    return this.batches.all();
  }

  /** A batch matching `predicate` (given its name, jobs, connection, queue) was dispatched. */
  assertBatched(predicate: (batch: PendingBatchFake) => boolean): void {
    this.batches.assertBatched(predicate);
  }

  /** Exactly `count` batches were dispatched. */
  assertBatchCount(count: number): void {
    this.batches.assertBatchCount(count);
  }

  /** No batch was dispatched. */
  assertNothingBatched(): void {
    this.batches.assertNothingBatched();
  }

  /** Every recorded push, in dispatch order. */
  pushedJobs(): PushedJob[] {
    return [...this.recorded];
  }

  /** The recorded instances of a job class (matching `predicate`, if given), in dispatch order. */
  pushed<J extends object>(type: JobClass<J>, predicate?: PushedPredicate<J>): J[] {
    return this.records(type, predicate).map((pushed) => pushed.job);
  }

  /**
   * At least one job of the class (matching `predicate`) was pushed; with a number instead of a
   * predicate (Laravel's `assertPushed(Job::class, 2)`), exactly that many.
   */
  assertPushed<J extends object>(type: JobClass<J>, predicate?: PushedPredicate<J> | number): void {
    if (typeof predicate === 'number') return this.assertPushedTimes(type, predicate);
    if (this.records(type, predicate).length > 0) return;
    const all = this.pushed(type);
    fail(
      predicate && all.length > 0
        ? `The expected [${type.name}] job was not pushed: ${all.length} were, none matching the predicate: ${show(all)}.`
        : `The expected [${type.name}] job was not pushed.${this.summary()}`,
    );
  }

  /** At least one job of the class (matching `predicate`) was pushed on the named queue. */
  assertPushedOn<J extends object>(queue: string, type: JobClass<J>, predicate?: PushedPredicate<J>): void {
    if (this.records(type, predicate).some((pushed) => pushed.queue === queue)) return;
    const queues = [...new Set(this.records(type, predicate).map((pushed) => pushed.queue))];
    fail(
      queues.length > 0
        ? `The expected [${type.name}] job was not pushed on queue [${queue}]; it was pushed on: ${queues.map((q) => `[${q}]`).join(', ')}.`
        : `The expected [${type.name}] job was not pushed on queue [${queue}].${this.summary()}`,
    );
  }

  /** Exactly `times` jobs of the class were pushed. */
  assertPushedTimes(type: JobClass, times: number): void {
    const count = this.records(type).length;
    if (count !== times) fail(`The expected [${type.name}] job was pushed ${count} time(s) instead of ${times}.`);
  }

  /** Exactly one job of the class (matching `predicate`) was pushed. */
  assertPushedOnce<J extends object>(type: JobClass<J>, predicate?: PushedPredicate<J>): void {
    const found = this.pushed(type, predicate);
    if (found.length === 1) return;
    if (found.length === 0) this.assertPushed(type, predicate);
    fail(`The expected [${type.name}] job was pushed ${found.length} times instead of once: ${show(found)}.`);
  }

  /** No job of the class (matching `predicate`) was pushed. */
  assertNotPushed<J extends object>(type: JobClass<J>, predicate?: PushedPredicate<J>): void {
    const found = this.pushed(type, predicate);
    if (found.length > 0) fail(`The unexpected [${type.name}] job was pushed ${found.length} time(s): ${show(found)}.`);
  }

  /** Nothing was pushed at all. */
  assertNothingPushed(): void {
    if (this.recorded.length > 0) fail(`${this.recorded.length} unexpected job(s) were pushed:${this.summary()}`);
  }

  /** Exactly `count` jobs were pushed in all. */
  assertCount(count: number): void {
    if (this.recorded.length !== count)
      fail(`${this.recorded.length} job(s) were pushed instead of ${count}.${this.summary()}`);
  }

  /**
   * A job of the class (matching `predicate`) was pushed with exactly this chain after it: each
   * entry a class (any instance of it) or an instance (compared by value).
   */
  assertPushedWithChain<J extends object>(
    type: JobClass<J>,
    chain: readonly object[],
    predicate?: PushedPredicate<J>,
  ): void {
    const candidates = this.records(type, predicate);
    if (candidates.some((pushed) => chainMatches(chain, pushed.chain))) return;
    if (candidates.length === 0) fail(`The expected [${type.name}] job was not pushed.${this.summary()}`);
    fail(
      `The expected [${type.name}] job was not pushed with the chain ${describeChain(chain)}; it was pushed with: ` +
        `${candidates.map((pushed) => describeChain(pushed.chain)).join(', ')}.` +
        (chain.some((entry) => typeof entry !== 'function')
          ? ` Chains: ${show(candidates.map((pushed) => pushed.chain))}.`
          : ''),
    );
  }

  /** A job of the class (matching `predicate`) was pushed with nothing chained after it. */
  assertPushedWithoutChain<J extends object>(type: JobClass<J>, predicate?: PushedPredicate<J>): void {
    const candidates = this.records(type, predicate);
    if (candidates.some((pushed) => pushed.chain.length === 0)) return;
    if (candidates.length === 0) this.assertPushed(type, predicate);
    fail(
      `The expected [${type.name}] job was not pushed without a chain; it was pushed with: ${candidates.map((pushed) => describeChain(pushed.chain)).join(', ')}.`,
    );
  }

  private records<J extends object>(type: JobClass<J>, predicate?: PushedPredicate<J>): Array<PushedJob<J>> {
    return this.recorded.filter(
      (pushed): pushed is PushedJob<J> =>
        pushed.job instanceof type && (!predicate || predicate(pushed.job as J, pushed as PushedJob<J>)),
    );
  }

  private summary(): string {
    return tally(
      'pushed',
      this.recorded.map((pushed) => pushed.job),
    );
  }
}

/** Where a job dispatched as part of a chain or batch would go: its own connection and queue, else the group's, else the defaults. */
async function destination(
  job: object,
  connection: string | undefined,
  queue: string | undefined,
): Promise<{ connection: string; queue: string }> {
  const app = await runtime();
  const options = effectiveOptions(registeredJobOf(job), {}, job);
  const to = options.connection ?? connection ?? app.config.default;
  return { connection: to, queue: options.queue ?? queue ?? app.queues.connection(to).defaultQueue };
}

let current: QueueFake | undefined;

/** @internal `Queue.fake()`: replaces any queue fake already installed. */
export function fakeQueue(options?: readonly JobClass[] | QueueFakeOptions): QueueFake {
  current?.uninstall();
  current = new QueueFake(options).install();
  return current;
}

/** @internal `Queue.restore()`. */
export function restoreQueue(): void {
  current?.uninstall();
  current = undefined;
}
