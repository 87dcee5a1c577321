import { type BusFake, type BusFakeOptions, fakeBus, restoreBus } from '../testing/bus-fake.js';
import type { JobClass } from '../testing/job-matching.js';
import { findBatch } from './batch.js';
import { forgetCallback, registerCallback } from './callbacks.js';
import { dispatch, dispatchSync } from './dispatch.js';
import { PendingBatch } from './pending-batch.js';
import { PendingChain } from './pending-chain.js';
import { withinTransaction } from './transactions.js';

/** Chains, batches and transactional dispatch (Laravel's `Bus` facade). */
export const Bus = {
  /** Pushes a job instance (as `dispatch(job)`). */
  dispatch,
  /** Runs a job instance now, through the sync path. */
  dispatchSync,
  /** A chain: `Bus.chain([a, b, c]).catch('notify').dispatch()`. Entries are jobs or `Bus.batch(...)`. */
  chain(jobs: readonly object[]): PendingChain {
    return new PendingChain(jobs);
  },
  /** A batch: `Bus.batch([a, b, [c1, c2]]).then(...).dispatch()`; an array entry is a chain inside the batch. */
  batch(jobs: ReadonlyArray<object | readonly object[]>): PendingBatch {
    return new PendingBatch(jobs);
  },
  /** A batch by id, read fresh, or undefined. */
  findBatch,
  /** Registers a function chains and batches may name as a callback (never a serialized closure). */
  registerCallback,
  /** Removes a registered callback. */
  forgetCallback,
  /** Runs a callback with a knex transaction as the ambient one for afterCommit dispatches. */
  withinTransaction,
  /**
   * Testing: records dispatches, `dispatchSync` calls, chains, batches and bulk pushes instead of
   * pushing or running them, and returns the fake to assert on. `Bus.fake([A])` records only those
   * classes, `Bus.fake({ except: [C] })` all but those (batches are always recorded). Undo with `Bus.restore()`.
   */
  fake(options?: readonly JobClass[] | BusFakeOptions): BusFake {
    return fakeBus(options);
  },
  /** Removes the fake installed by `Bus.fake()`. */
  restore(): void {
    restoreBus();
  },
};
