import type { LockStore } from '../contracts/lock-store.js';

let custom: LockStore | undefined;

/**
 * Puts unique jobs and `WithoutOverlapping` on another lock store (Redis, etcd …) instead of the
 * configured `locks` table. Register it in the bootstrap module, so dispatching processes and
 * workers agree on it: a lock one process takes in one store is invisible to another store.
 */
export function registerLockStore(store: LockStore): void {
  custom = store;
}

/** Goes back to the configured lock store (the `locks` table). */
export function forgetLockStore(): void {
  custom = undefined;
}

/** @internal The store registered with registerLockStore, if any. */
export function registeredLockStore(): LockStore | undefined {
  return custom;
}
