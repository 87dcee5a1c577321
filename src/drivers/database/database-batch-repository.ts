import type { Knex } from 'knex';

import type { ResolvedDatabaseConnection } from '../../config/config-types.js';
import type { BatchRepository, BatchRow, ClaimedCallback, PruneBatches } from '../../contracts/batch-repository.js';
import type { StoreTransaction } from '../../contracts/queue.js';
import { describeDatabaseError } from './database-error.js';
import { dialect, type Engine } from './dialect.js';
import {
  addBatchJobs,
  cancelBatch,
  claimBatchCallback,
  deleteBatch,
  insertBatch,
  pruneBatches,
  recordBatchFailure,
  recordBatchSuccess,
  selectBatch,
  selectBatches,
} from './queries/batches.js';
import { retryLocks } from './retry-locks.js';
import { knexTransaction } from './store-transaction.js';

/**
 * The `job_batches` table. Every counter changes in one statement of its own, so no row lock is
 * held across round trips (Laravel's SELECT … FOR UPDATE deadlocked under load).
 */
export class DatabaseBatchRepository implements BatchRepository {
  readonly engine: Engine;

  constructor(
    readonly knex: Knex,
    readonly table: string,
    private readonly connectionName: string,
    private readonly config: ResolvedDatabaseConnection,
  ) {
    this.engine = dialect.engineOf(config.client);
  }

  store(batch: { id: string; name: string; options: string }): Promise<void> {
    return this.run(() => insertBatch(this.knex, this.engine, this.table, batch));
  }

  find(id: string): Promise<BatchRow | undefined> {
    return this.run(() => selectBatch(this.knex, this.table, id));
  }

  list(limit: number, before?: string): Promise<BatchRow[]> {
    return this.run(() => selectBatches(this.knex, this.table, limit, before));
  }

  /** Counts more jobs; inside `trx` when given, so the count and the jobs commit together. */
  addJobs(id: string, n: number, trx?: StoreTransaction): Promise<void> {
    // Inside the caller's transaction a failed statement cannot simply be repeated: it rolls back whole.
    return this.run(() =>
      trx
        ? addBatchJobs(knexTransaction(trx), this.table, id, n)
        : retryLocks(() => addBatchJobs(this.knex, this.table, id, n)),
    );
  }

  /** Counts a job done; inside `trx` when given (the job's delete), so both commit or neither. */
  recordSuccess(id: string, uuid: string, trx?: StoreTransaction): Promise<void> {
    if (trx) return recordBatchSuccess(knexTransaction(trx), this.table, id, uuid);
    return this.run(() => retryLocks(() => recordBatchSuccess(this.knex, this.table, id, uuid)));
  }

  /** Counts a job failed; inside `trx` when given (the job's failing write). */
  recordFailure(id: string, uuid: string, trx?: StoreTransaction): Promise<void> {
    if (trx) return recordBatchFailure(knexTransaction(trx), this.engine, this.table, id, uuid);
    return this.run(() => retryLocks(() => recordBatchFailure(this.knex, this.engine, this.table, id, uuid)));
  }

  claimCallback(id: string, kind: ClaimedCallback): Promise<boolean> {
    return this.run(() => retryLocks(() => claimBatchCallback(this.knex, this.engine, this.table, id, kind)));
  }

  cancel(id: string): Promise<boolean> {
    return this.run(() => retryLocks(() => cancelBatch(this.knex, this.engine, this.table, id)));
  }

  delete(id: string): Promise<boolean> {
    return this.run(() => deleteBatch(this.knex, this.table, id));
  }

  prune(prune: PruneBatches): Promise<number> {
    return this.run(() => pruneBatches(this.knex, this.engine, this.table, prune));
  }

  /** One knex transaction on the batch table's database. */
  transaction<T>(work: (trx: StoreTransaction) => Promise<T>): Promise<T> {
    return this.knex.transaction((trx) => work(trx));
  }

  private async run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw describeDatabaseError(error, this.connectionName, this.config, this.table);
    }
  }
}
