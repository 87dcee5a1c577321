import type { LockStore } from '../contracts/lock-store.js';

/**
 * Locks in this process's memory: what errand uses when no database connection is configured
 * (only `sync` or `null`), where there is no other process to share locks with. Also handy in
 * tests (`registerLockStore(new MemoryLockStore())`). Expiry uses this process's clock.
 */
export class MemoryLockStore implements LockStore {
  private readonly locks = new Map<string, { owner: string; expiresAt: number }>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  async acquire(key: string, owner: string, ttlSeconds: number): Promise<boolean> {
    if (this.holder(key) !== null) return false;
    this.locks.set(key, { owner, expiresAt: this.expiry(ttlSeconds) });
    return true;
  }

  async release(key: string, owner: string): Promise<boolean> {
    if (this.locks.get(key)?.owner !== owner) return false;
    this.locks.delete(key);
    return true;
  }

  async refresh(key: string, owner: string, ttlSeconds: number): Promise<boolean> {
    const lock = this.locks.get(key);
    if (lock?.owner !== owner) return false;
    lock.expiresAt = this.expiry(ttlSeconds);
    return true;
  }

  async forceRelease(key: string): Promise<void> {
    this.locks.delete(key);
  }

  async owner(key: string): Promise<string | null> {
    return this.holder(key);
  }

  async isLocked(key: string): Promise<boolean> {
    return this.holder(key) !== null;
  }

  private holder(key: string): string | null {
    const lock = this.locks.get(key);
    return lock && lock.expiresAt > this.now() ? lock.owner : null;
  }

  private expiry(ttlSeconds: number): number {
    return ttlSeconds > 0 ? this.now() + ttlSeconds * 1000 : Infinity;
  }
}
