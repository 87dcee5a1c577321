import { randomUUID } from 'node:crypto';

import type { InterceptedDispatch } from '../bus/dispatch-interceptor.js';
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

export type { PendingBatchFake } from './recorded-batches.js';

/** Options of `Bus.fake()`: which job classes it records (batches are always recorded). */
export type BusFakeOptions = FakeSelection;

/** A dispatch `Bus.fake()` recorded. */
export interface DispatchedJob<J extends object = object> {
  readonly job: J;
  /** True for `dispatchSync`. */
  readonly sync: boolean;
  /** Where it would have gone (undefined for a chain's first job that names none, and for sync). */
  readonly connection?: string;
  readonly queue?: string;
  /** The jobs (or pending batches) chained after it, as given. */
  readonly chain: readonly object[];
}

/** Narrows the recorded dispatches: gets the job and the record. */
export type DispatchedPredicate<J extends object> = (job: J, dispatched: DispatchedJob<J>) => boolean;

/**
 * What `Bus.fake()` returns: every dispatch, `dispatchSync`, chain, batch and `Queue.bulk` made
 * while it is installed is recorded instead of pushed or run, and assertions about them throw
 * `AssertionError`. A faked batch dispatch resolves to a `Batch` that exists only in memory.
 */
export class BusFake extends InterceptingFake {
  private readonly recorded: DispatchedJob[] = [];
  private readonly batches = new RecordedBatches();

  constructor(private readonly options: BusFakeOptions = {}) {
    super();
  }

  protected intercept(dispatch: InterceptedDispatch): Promise<unknown> | undefined {
    switch (dispatch.kind) {
      case 'push':
      case 'bulk':
        if (!selects(this.options, dispatch.job)) return undefined;
        this.recorded.push({
          job: dispatch.job,
          sync: false,
          connection: dispatch.connection,
          queue: dispatch.queue,
          chain: [...dispatch.chain],
        });
        return Promise.resolve(`fake-${randomUUID()}`);
      case 'sync':
        if (!selects(this.options, dispatch.job)) return undefined;
        this.recorded.push({ job: dispatch.job, sync: true, chain: [...dispatch.chain] });
        return Promise.resolve();
      case 'chain': {
        const [first, ...rest] = dispatch.jobs;
        if (!first || !selects(this.options, first)) return undefined;
        this.recorded.push({
          job: first,
          sync: false,
          connection: dispatch.connection,
          queue: dispatch.queue,
          chain: rest,
        });
        return Promise.resolve(`fake-${randomUUID()}`);
      }
      case 'batch':
        return Promise.resolve(this.batches.record(dispatch));
    }
  }

  /** The recorded queued dispatches of a job class (matching `predicate`), in order; not `dispatchSync`. */
  dispatched<J extends object>(type: JobClass<J>, predicate?: DispatchedPredicate<J>): J[] {
    return this.records(type, predicate, false).map((d) => d.job);
  }

  /** The recorded `dispatchSync` calls of a job class (matching `predicate`), in order. */
  dispatchedSync<J extends object>(type: JobClass<J>, predicate?: DispatchedPredicate<J>): J[] {
    return this.records(type, predicate, true).map((d) => d.job);
  }

  /** The recorded batches, in order. */
  batched(): PendingBatchFake[] {
    return this.batches.all();
  }

  /**
   * A job of the class (matching `predicate`) was dispatched: queued, in a chain, in bulk, or
   * sync; with a number instead of a predicate, exactly that many times.
   */
  assertDispatched<J extends object>(type: JobClass<J>, predicate?: DispatchedPredicate<J> | number): void {
    if (typeof predicate === 'number') return this.assertDispatchedTimes(type, predicate);
    if (this.records(type, predicate).length > 0) return;
    const all = this.records(type).map((d) => d.job);
    fail(
      predicate && all.length > 0
        ? `The expected [${type.name}] job was not dispatched: ${all.length} were, none matching the predicate: ${show(all)}.`
        : `The expected [${type.name}] job was not dispatched.${this.summary()}`,
    );
  }

  /** Exactly `times` jobs of the class were dispatched (sync ones included). */
  assertDispatchedTimes(type: JobClass, times: number): void {
    const count = this.records(type).length;
    if (count !== times) fail(`The expected [${type.name}] job was dispatched ${count} time(s) instead of ${times}.`);
  }

  /** Exactly one job of the class (matching `predicate`) was dispatched, queued or sync. */
  assertDispatchedOnce<J extends object>(type: JobClass<J>, predicate?: DispatchedPredicate<J>): void {
    const found = this.records(type, predicate).map((d) => d.job);
    if (found.length === 1) return;
    if (found.length === 0) this.assertDispatched(type, predicate);
    fail(`The expected [${type.name}] job was dispatched ${found.length} times instead of once: ${show(found)}.`);
  }

  /** A job of the class (matching `predicate`) was run with `dispatchSync`. */
  assertDispatchedSync<J extends object>(type: JobClass<J>, predicate?: DispatchedPredicate<J>): void {
    if (this.records(type, predicate, true).length > 0) return;
    const sync = this.records(type, undefined, true).length;
    const queued = this.records(type, undefined, false).length;
    fail(
      predicate && sync > 0
        ? `The expected [${type.name}] job was not dispatched synchronously: ${sync} were, none matching the predicate: ${show(this.dispatchedSync(type))}.`
        : `The expected [${type.name}] job was not dispatched synchronously.${queued > 0 ? ` It was queued ${queued} time(s) instead.` : this.summary()}`,
    );
  }

  /** Exactly `times` jobs of the class were run with `dispatchSync`. */
  assertDispatchedSyncTimes(type: JobClass, times: number): void {
    const count = this.records(type, undefined, true).length;
    if (count !== times)
      fail(`The expected [${type.name}] job was dispatched synchronously ${count} time(s) instead of ${times}.`);
  }

  /** No job of the class (matching `predicate`) was run with `dispatchSync`; queued ones do not count. */
  assertNotDispatchedSync<J extends object>(type: JobClass<J>, predicate?: DispatchedPredicate<J>): void {
    const found = this.dispatchedSync(type, predicate);
    if (found.length > 0)
      fail(`The unexpected [${type.name}] job was dispatched synchronously ${found.length} time(s): ${show(found)}.`);
  }

  /** No job of the class (matching `predicate`) was dispatched, queued or sync. */
  assertNotDispatched<J extends object>(type: JobClass<J>, predicate?: DispatchedPredicate<J>): void {
    const found = this.records(type, predicate).map((d) => d.job);
    if (found.length > 0)
      fail(`The unexpected [${type.name}] job was dispatched ${found.length} time(s): ${show(found)}.`);
  }

  /** Nothing was dispatched (batches aside). */
  assertNothingDispatched(): void {
    if (this.recorded.length > 0) fail(`${this.recorded.length} unexpected job(s) were dispatched:${this.summary()}`);
  }

  /**
   * A chain was dispatched with exactly these entries, first job included: each a class (any
   * instance of it) or an instance (compared by value); a batch in the chain matches `PendingBatch`.
   */
  assertChained(chain: readonly object[]): void {
    const [first, ...rest] = chain;
    if (!first) fail('assertChained([]) needs at least one job.');
    const queued = this.recorded.filter((d) => !d.sync);
    if (queued.some((d) => chainMatches([first], [d.job]) && chainMatches(rest, d.chain))) return;
    const chains = queued.filter((d) => d.chain.length > 0).map((d) => describeChain([d.job, ...d.chain]));
    fail(
      `The expected chain ${describeChain(chain)} was not dispatched. ${chains.length > 0 ? `Chains dispatched: ${chains.join(', ')}.` : 'No chains were dispatched.'}`,
    );
  }

  /** A job of the class (matching `predicate`) was queued with nothing chained after it. */
  assertDispatchedWithoutChain<J extends object>(type: JobClass<J>, predicate?: DispatchedPredicate<J>): void {
    const candidates = this.records(type, predicate, false);
    if (candidates.some((d) => d.chain.length === 0)) return;
    if (candidates.length === 0) fail(`The expected [${type.name}] job was not queued.${this.summary()}`);
    fail(
      `The expected [${type.name}] job was not dispatched without a chain; it was dispatched with: ${candidates.map((d) => describeChain(d.chain)).join(', ')}.`,
    );
  }

  /** No chain was dispatched: every queued job has nothing chained after it. */
  assertNothingChained(): void {
    const chains = this.recorded.filter((d) => d.chain.length > 0).map((d) => describeChain([d.job, ...d.chain]));
    if (chains.length > 0) fail(`${chains.length} unexpected chain(s) were dispatched: ${chains.join(', ')}.`);
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

  private records<J extends object>(
    type: JobClass<J>,
    predicate?: DispatchedPredicate<J>,
    sync?: boolean,
  ): Array<DispatchedJob<J>> {
    return this.recorded.filter(
      (d): d is DispatchedJob<J> =>
        d.job instanceof type &&
        (sync === undefined || d.sync === sync) &&
        (!predicate || predicate(d.job as J, d as DispatchedJob<J>)),
    );
  }

  private summary(): string {
    return tally(
      'dispatched',
      this.recorded.map((d) => d.job),
    );
  }
}

let current: BusFake | undefined;

/** @internal `Bus.fake()`: replaces any bus fake already installed. */
export function fakeBus(options?: readonly JobClass[] | BusFakeOptions): BusFake {
  current?.uninstall();
  current = new BusFake(Array.isArray(options) ? { only: options } : ((options as BusFakeOptions | undefined) ?? {}));
  return current.install();
}

/** @internal `Bus.restore()`. */
export function restoreBus(): void {
  current?.uninstall();
  current = undefined;
}
