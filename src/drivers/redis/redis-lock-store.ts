import type { LockStore } from '../../contracts/lock-store.js';
import { checkLock } from '../check-lock.js';
import type { RedisClient } from './redis-client.js';
import { namingErrors } from './redis-store-error.js';
import { REFRESH_LOCK } from './scripts/refresh-lock.js';
import { RELEASE_LOCK } from './scripts/release-lock.js';

/**
 * Locks as Redis strings, `<prefix>lock:<key>` holding the owner: `SET NX PX` takes a free key
 * atomically, and Redis drops an expired one on its own clock, so skewed hosts agree on expiry
 * and nothing is kept for a lock that lapsed. Release and refresh are scripts that compare the
 * owner first.
 *
 * One difference from the `locks` table: an expired lock is gone at once rather than left
 * until someone takes it over, so its former owner can no longer release or refresh it (both
 * answer false, as for any lock the caller does not hold).
 */
export class RedisLockStore implements LockStore {
  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    readonly connectionName: string,
  ) {}

  async acquire(key: string, owner: string, ttlSeconds: number): Promise<boolean> {
    checkLock(key, owner, ttlSeconds);
    const set = ['SET', this.keyOf(key), owner, 'NX'];
    if (ttlSeconds > 0) set.push('PX', String(ttlSeconds * 1000));
    return (await this.send(key, () => this.client.command(set, this.keyOf(key)))) !== null;
  }

  async release(key: string, owner: string): Promise<boolean> {
    return Number(await this.send(key, () => this.client.run(RELEASE_LOCK, [this.keyOf(key)], [owner]))) === 1;
  }

  async refresh(key: string, owner: string, ttlSeconds: number): Promise<boolean> {
    checkLock(key, owner, ttlSeconds);
    const refreshed = await this.send(key, () =>
      this.client.run(REFRESH_LOCK, [this.keyOf(key)], [owner, ttlSeconds * 1000]),
    );
    return Number(refreshed) === 1;
  }

  async forceRelease(key: string): Promise<void> {
    await this.send(key, () => this.client.command(['DEL', this.keyOf(key)], this.keyOf(key)));
  }

  async owner(key: string): Promise<string | null> {
    const owner = await this.send(key, () => this.client.command(['GET', this.keyOf(key)], this.keyOf(key)));
    return owner === null || owner === undefined ? null : String(owner);
  }

  async isLocked(key: string): Promise<boolean> {
    return (await this.owner(key)) !== null;
  }

  private keyOf(key: string): string {
    return `${this.prefix}lock:${key}`;
  }

  private send<T>(key: string, call: () => Promise<T>): Promise<T> {
    return namingErrors(`Lock ${key}`, call);
  }
}
