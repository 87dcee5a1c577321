import type { LockStore } from '../contracts/lock-store.js';
import { runtime } from '../runtime/current.js';
import { registeredLockStore } from './lock-stores.js';

/**
 * The lock store in use: the one registered with `registerLockStore`, else the configured
 * `locks` table (else, with no database connection at all, this process's memory).
 */
export async function lockStore(): Promise<LockStore> {
  return registeredLockStore() ?? (await runtime()).queues.locks();
}
