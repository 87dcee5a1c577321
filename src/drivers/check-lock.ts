/** The longest owner a lock store takes: the `locks` table's column width, kept by every store so a lock that works on one store works on all. */
export const MAX_LOCK_OWNER = 255;

/**
 * Refuses a lock call whose arguments no store could keep: an empty key, an owner that is empty
 * or longer than the `locks` column (MySQL's `insert ignore` would truncate it silently), a TTL
 * that is not a whole number of seconds ≥ 0.
 */
export function checkLock(key: string, owner: string, ttlSeconds: number): void {
  if (typeof key !== 'string' || key === '')
    throw new RangeError(`A lock key must be a non-empty string, got ${JSON.stringify(key)}.`);
  if (typeof owner !== 'string' || owner === '' || owner.length > MAX_LOCK_OWNER) {
    throw new RangeError(
      `The owner of lock ${key} must be 1 to ${MAX_LOCK_OWNER} characters, got ${JSON.stringify(owner)}.`,
    );
  }
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 0) {
    throw new RangeError(
      `The TTL of lock ${key} must be a whole number of seconds ≥ 0 (0: never expires), got ${String(ttlSeconds)}.`,
    );
  }
}
