import { AsyncLocalStorage } from 'node:async_hooks';

import type { Knex } from 'knex';

import { ConfigError } from '../errors/config-error.js';

const ambient = new AsyncLocalStorage<Knex.Transaction>();

/**
 * Runs `callback` with `trx` as the ambient transaction: inside it, dispatches marked
 * `afterCommit` (by `.afterCommit()`, the job's `@Job({ afterCommit: true })` or the connection's
 * `afterCommit: true`) wait for the transaction to commit and are dropped if it rolls back.
 *
 * @example
 * ```ts
 * await knex.transaction((trx) => Bus.withinTransaction(trx, async () => {
 *   await trx('orders').insert(order);
 *   await ShipOrder.dispatch(order.id).afterCommit();
 * }));
 * ```
 */
export function withinTransaction<T>(trx: Knex.Transaction, callback: () => T | Promise<T>): Promise<T> {
  if (!isTransaction(trx)) throw new ConfigError('Bus.withinTransaction(trx, callback): trx must be a knex transaction.');
  return Promise.resolve(ambient.run(trx, callback));
}

/** The ambient transaction of `withinTransaction`, if the caller runs inside one. */
export function currentTransaction(): Knex.Transaction | undefined {
  const trx = ambient.getStore();
  return trx && !trx.isCompleted() ? trx : undefined;
}

/** Whether `value` is a knex transaction. */
export function isTransaction(value: unknown): value is Knex.Transaction {
  return typeof value === 'function' && typeof (value as Partial<Knex.Transaction>).isCompleted === 'function' && 'executionPromise' in value;
}

const rolledBack = new WeakSet<Knex.Transaction>();
const watched = new WeakSet<Knex.Transaction>();

/**
 * Notes an explicit `trx.rollback()`: knex resolves a transaction's `executionPromise` (rather
 * than rejecting it) when it is rolled back without an error, its default
 * `doNotRejectOnRollback`, so the promise alone cannot tell a rollback from a commit.
 */
function watchRollback(trx: Knex.Transaction): void {
  if (watched.has(trx)) return;
  watched.add(trx);
  const rollback = trx.rollback.bind(trx);
  trx.rollback = ((error?: unknown) => {
    rolledBack.add(trx);
    return rollback(error as Error);
  }) as Knex.Transaction['rollback'];
}

/**
 * Resolves once `trx` and every transaction it is nested in have committed; rejects when any of
 * them rolls back (by an error or by an explicit `rollback()`). A savepoint that is released has
 * not committed anything yet: only the outermost commit makes the data visible.
 */
export function committed(trx: Knex.Transaction): Promise<void> {
  const levels: Knex.Transaction[] = [];
  for (let t: Knex.Transaction | undefined = trx; t; t = (t as { parentTransaction?: Knex.Transaction }).parentTransaction) {
    watchRollback(t);
    levels.push(t);
  }
  return Promise.all(levels.map((t) => t.executionPromise)).then(() => {
    if (levels.some((t) => rolledBack.has(t))) throw new Error('The transaction was rolled back.');
  });
}
