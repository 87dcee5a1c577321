import { createHash } from 'node:crypto';

import type { Knex } from 'knex';

import type { ResolvedDatabaseConnection } from '../../config/config-types.js';
import type { LockStore } from '../../contracts/lock-store.js';
import { checkLock } from '../check-lock.js';
import { describeDatabaseError } from './database-error.js';
import { dialect } from './dialect.js';
import { acquireLock, forceReleaseLock, type LockTable, lockOwner, refreshLock, releaseLock } from './queries/locks.js';
import { retryLocks } from './retry-locks.js';
import { knexConfigOf } from './store-transaction.js';

/** The longest key the `locks` table holds (its column is 255 characters). */
const MAX_LENGTH = 255;

/**
 * Locks in a table of a database queue connection (`locks`, migration 0006). Expiry is judged by
 * the database clock, so machines with skewed clocks agree on it. Keys longer than the column are
 * stored as a readable head and a SHA-256 of the whole key.
 */
export class DatabaseLockStore implements LockStore {
  private readonly locks: LockTable;

  constructor(
    readonly knex: Knex,
    readonly table: string,
    readonly connectionName: string,
    private readonly config: ResolvedDatabaseConnection,
    private readonly inTransaction = false,
  ) {
    this.locks = { knex, engine: dialect.engineOf(config.client), table };
  }

  /**
   * The same table, read and written inside the caller's transaction of this database: what is
   * taken there is kept on commit and undone on rollback.
   */
  within(transaction: Knex.Transaction): DatabaseLockStore {
    return new DatabaseLockStore(transaction, this.table, this.connectionName, this.config, true);
  }

  /** Whether `transaction` was opened on this store's knex instance (knex gives a transaction its own client sharing the config). */
  opensOn(transaction: Knex.Transaction): boolean {
    const config = knexConfigOf(transaction);
    return config !== undefined && config === knexConfigOf(this.knex);
  }

  async acquire(key: string, owner: string, ttlSeconds: number): Promise<boolean> {
    checkLock(key, owner, ttlSeconds);
    return this.run(() => acquireLock(this.locks, storedKey(key), owner, ttlSeconds));
  }

  release(key: string, owner: string): Promise<boolean> {
    return this.run(() => releaseLock(this.locks, storedKey(key), owner));
  }

  async refresh(key: string, owner: string, ttlSeconds: number): Promise<boolean> {
    checkLock(key, owner, ttlSeconds);
    return this.run(() => refreshLock(this.locks, storedKey(key), owner, ttlSeconds));
  }

  forceRelease(key: string): Promise<void> {
    return this.run(() => forceReleaseLock(this.locks, storedKey(key)));
  }

  owner(key: string): Promise<string | null> {
    return this.run(() => lockOwner(this.locks, storedKey(key)));
  }

  async isLocked(key: string): Promise<boolean> {
    return (await this.owner(key)) !== null;
  }

  /**
   * Names the table and connection in errors, and tries a statement again after a deadlock or
   * lock timeout: MySQL/MariaDB can deadlock two inserts of a key a third caller just deleted.
   * Every statement here is safe to repeat; inside a transaction a deadlock has already rolled
   * it back, so there is nothing to try again.
   */
  private async run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await retryLocks(operation, this.inTransaction ? 1 : 4);
    } catch (error) {
      throw describeDatabaseError(error, this.connectionName, this.config, this.table);
    }
  }
}

/** Keys longer than the column keep a readable head and end in a hash of the whole key. */
function storedKey(key: string): string {
  if (key.length <= MAX_LENGTH) return key;
  return `${key.slice(0, MAX_LENGTH - 65)}#${createHash('sha256').update(key).digest('hex')}`;
}
