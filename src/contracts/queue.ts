import type { Knex } from 'knex';

/**
 * A transaction open on a queue's store, opaque outside the driver that stores there: the contract
 * promises nothing about its members. Only a driver (or a store that `sharesStoreWith` says lives
 * in the same store) writes in it. The database driver's is a knex transaction, which is also what
 * the application passes to `withTransaction(trx)`.
 */
export type StoreTransaction = object;

/** One job to store: its encoded payload, the queue and when it becomes available. */
export interface PushRequest {
  readonly queue: string;
  readonly payload: string;
  /** Seconds from now (the store's clock), or an absolute instant. Absent: available at once. */
  readonly delay?: number | Date;
  /**
   * A transaction of this queue's store to insert in: the application's own knex transaction
   * (`withTransaction(trx)`, database connections only), so the job commits or rolls back with
   * the application's data, or the transaction of another job's finishing write.
   */
  readonly transaction?: StoreTransaction;
}

/**
 * What dispatching needs from a queue connection (Laravel's `Queue` contract): every driver has
 * it, `sync` and `null` included. A connection whose jobs workers claim is a `WorkerQueue`. This
 * seam is internal and may change in minor versions until it settles; members are kept in
 * alphabetical order.
 */
export interface Queue {
  /**
   * Stores many jobs, in one statement where the store allows; resolves to their ids in input
   * order. All of them or none are stored when they share a `transaction`.
   */
  bulk(requests: readonly PushRequest[]): Promise<string[]>;
  /** Deletes every job of the queue, reserved ones too; resolves to how many. */
  clear(queue: string): Promise<number>;
  /** Closes what the connection holds open (a pool); the queue is not used after. */
  close(): Promise<void>;
  /** The connection name from the configuration. */
  readonly connectionName: string;
  /** The queue used when a job names none. */
  readonly defaultQueue: string;
  /**
   * The knex instance of the database this queue's jobs live in, present only when the
   * application's own knex transactions can hold them (the `database` driver): `withTransaction(trx)`
   * inserts in such a transaction, and a push after a commit goes on the connection the commit
   * still holds. Absent on every other driver, where `withTransaction(trx)` is refused. It is the
   * application's transaction API that is knex; the queue's own tables are the driver's business.
   */
  readonly knex?: Knex;
  /** Stores one job; resolves to its id. */
  push(request: PushRequest): Promise<string>;
  /**
   * True when `push` runs the job here and now instead of storing it (the sync driver): work
   * after a commit that would run application code waits until the transaction lets its
   * connection go.
   */
  readonly runsJobsInline: boolean;
  /**
   * Whether `other` (a queue, or a failed-job store, lock store or batch repository) keeps its
   * data in this queue's store, so one of this queue's store transactions can hold writes to both:
   * a chain's next job and a batch's count then commit with the job's finishing write. False
   * whenever in doubt: the caller then writes separately, in the order that loses nothing.
   */
  sharesStoreWith(other: object): boolean;
  /** Jobs of the queue not yet finished (pending, delayed and reserved). */
  size(queue: string): Promise<number>;
}
