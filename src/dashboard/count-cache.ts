/**
 * Answers kept for a few seconds: a page refreshing every few seconds, or many open pages, then
 * count each queue once per period instead of once per request. A failed load is not kept.
 */
export class CountCache {
  private readonly entries = new Map<string, { expires: number; value: Promise<unknown> }>();

  constructor(private readonly ttlMs: number) {}

  /** The value kept under `key`, or `load()`'s, kept for the period. */
  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const entry = this.entries.get(key);
    if (entry && entry.expires > now) return entry.value as Promise<T>;
    const value = load();
    this.entries.set(key, { expires: now + this.ttlMs, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }

  /** Forgets everything: after a change, the next read counts again. */
  clear(): void {
    this.entries.clear();
  }
}
