/**
 * Named locks with an owner and an optional expiry, shared by every process that uses the store:
 * what unique jobs and the `WithoutOverlapping` middleware hold. A database table ships
 * (`DatabaseLockStore`); `registerLockStore()` plugs in another (Redis, etcd …).
 *
 * Rules every store keeps:
 * - `acquire` is atomic: of any number of concurrent callers for a free key exactly one wins.
 * - An expired lock is free: the next `acquire` takes it over. Expiry is judged by one shared
 *   clock (the database's for `DatabaseLockStore`), never by comparing the callers' clocks.
 * - Only the owner releases or refreshes a lock; `forceRelease` is for operators and tests.
 * - Not re-entrant: acquiring a held lock fails, even for its own owner.
 */
export interface LockStore {
  /**
   * Takes `key` for `owner` when it is free or expired; false when someone holds it.
   * `ttlSeconds` > 0 makes the lock expire by itself (held at least that long); 0 never expires.
   */
  acquire(key: string, owner: string, ttlSeconds: number): Promise<boolean>;
  /** Frees `key` when `owner` holds it (expired or not); false when it is someone else's or free. */
  release(key: string, owner: string): Promise<boolean>;
  /**
   * Pushes the expiry of a lock `owner` still holds to `ttlSeconds` from now (0: never expires);
   * false when the lock is no longer `owner`'s (it expired and was taken over, or was released).
   */
  refresh(key: string, owner: string, ttlSeconds: number): Promise<boolean>;
  /** Frees `key` whoever holds it. */
  forceRelease(key: string): Promise<void>;
  /** Who holds `key` now, or null when it is free (an expired lock is free). */
  owner(key: string): Promise<string | null>;
  /** Whether someone holds `key` now (an expired lock is free). */
  isLocked(key: string): Promise<boolean>;
}
