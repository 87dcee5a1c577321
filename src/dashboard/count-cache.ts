/** How long a count is served without a new one, and how old it may get while one is under way. */
export interface CountCacheTiming {
  /** After this many milliseconds a read starts one background refresh (0: never cache). */
  readonly refreshMs: number;
  /** A value older than this is not served: the read waits for a fresh one (default 60 s). */
  readonly maxStaleMs?: number;
  /** Told when a background refresh fails; the last value keeps being served. */
  readonly onRefreshError?: (key: string, error: unknown) => void;
}

interface Entry {
  /** When the served value was loaded (ms). */
  at: number;
  value?: unknown;
  /** The first load, which readers wait for until a value exists. */
  first?: Promise<unknown>;
  /** The background refresh under way, at most one per key. */
  refreshing?: Promise<unknown>;
  /** The last refresh's failure, kept until a refresh succeeds. */
  error?: unknown;
}

/**
 * Counts served stale-while-revalidate: a read answers at once from the value held (up to
 * `maxStaleMs` old) and, when the value is older than `refreshMs`, starts one refresh in the
 * background; only a key's first read (or one after `clear()` or past `maxStaleMs`) waits for
 * the store. Counts of many queues then cost the dashboard's requests nothing but the first,
 * however slow the store counts; refreshes of different keys run at once, bounded by the pool.
 * A refresh that fails keeps the last value and is reported to `onRefreshError`.
 */
export class CountCache {
  private readonly entries = new Map<string, Entry>();
  private readonly refreshMs: number;
  private readonly maxStaleMs: number;
  private readonly onRefreshError: (key: string, error: unknown) => void;

  constructor(timing: number | CountCacheTiming) {
    const options = typeof timing === 'number' ? { refreshMs: timing } : timing;
    this.refreshMs = options.refreshMs;
    this.maxStaleMs = Math.max(options.maxStaleMs ?? 60_000, this.refreshMs);
    this.onRefreshError =
      options.onRefreshError ??
      ((key, error) =>
        console.warn(`errand dashboard: refreshing [${key}] failed, serving the last value: ${String(error)}`));
  }

  /** The value held under `key` (refreshed in the background when old), or `load()`'s on a first read. */
  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.refreshMs <= 0) return load();
    const now = Date.now();
    const entry = this.entries.get(key);
    if (entry?.first) return entry.first as Promise<T>;
    if (!entry || !('value' in entry) || now - entry.at > this.maxStaleMs) return this.loadFirst(key, load);
    if (now - entry.at >= this.refreshMs && !entry.refreshing) this.refresh(key, entry, load);
    return Promise.resolve(entry.value as T);
  }

  /** The last background refresh's failure of `key`, if the value served is older than it. */
  lastError(key: string): unknown {
    return this.entries.get(key)?.error;
  }

  /** Forgets everything: after a change, the next read counts again (and waits for it). */
  clear(): void {
    this.entries.clear();
  }

  private loadFirst<T>(key: string, load: () => Promise<T>): Promise<T> {
    const entry: Entry = { at: Date.now() };
    const first = load().then(
      (value) => {
        if (this.entries.get(key) === entry) {
          entry.value = value;
          entry.at = Date.now();
          delete entry.first;
        }
        return value;
      },
      (error: unknown) => {
        // A first load that failed is not kept: the next read tries again.
        if (this.entries.get(key) === entry) this.entries.delete(key);
        throw error;
      },
    );
    entry.first = first;
    this.entries.set(key, entry);
    return first;
  }

  private refresh(key: string, entry: Entry, load: () => Promise<unknown>): void {
    entry.refreshing = load().then(
      (value) => {
        entry.value = value;
        entry.at = Date.now();
        delete entry.error;
      },
      (error: unknown) => {
        entry.error = error;
        this.onRefreshError(key, error);
      },
    );
    void entry.refreshing.finally(() => {
      delete entry.refreshing;
    });
  }
}
