import type { RateLimitStore } from '../../src/contracts/rate-limit-store.js';

/** Rate-limit counters in memory on a clock the test moves, for middleware logic without a database. */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly windows = new Map<string, { hits: number; resetAt: number }>();
  now = 1_000_000;

  async hit(key: string, decaySeconds: number): Promise<number> {
    const open = this.open(key);
    const window = open ?? { hits: 0, resetAt: this.now + decaySeconds };
    window.hits += 1;
    this.windows.set(key, window);
    return window.hits;
  }

  async attempts(key: string): Promise<number> {
    return this.open(key)?.hits ?? 0;
  }

  async availableIn(key: string): Promise<number> {
    const open = this.open(key);
    return open ? open.resetAt - this.now : 0;
  }

  async clear(key: string): Promise<void> {
    this.windows.delete(key);
  }

  private open(key: string) {
    const window = this.windows.get(key);
    return window && window.resetAt > this.now ? window : undefined;
  }
}
