import type { RateLimitStore } from '../../contracts/rate-limit-store.js';
import type { RedisClient } from './redis-client.js';
import { namingErrors } from './redis-store-error.js';
import { HIT_RATE_LIMIT } from './scripts/hit-rate-limit.js';

/**
 * Rate-limit counters as Redis integers, `<prefix>limit:<key>`, each expiring when its window
 * ends (on the server's clock, to the millisecond): an ended window is simply gone, so nothing
 * piles up for keys made per user or per job and no pruning is needed.
 */
export class RedisRateLimitStore implements RateLimitStore {
  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    readonly connectionName: string,
  ) {}

  async hit(key: string, decaySeconds: number): Promise<number> {
    if (!Number.isInteger(decaySeconds) || decaySeconds < 1) {
      throw new RangeError(
        `A rate-limit window must last a whole number of seconds ≥ 1, got ${String(decaySeconds)} (key ${key}).`,
      );
    }
    const hits = await this.send(key, () => this.client.run(HIT_RATE_LIMIT, [this.keyOf(key)], [decaySeconds * 1000]));
    return Number(hits);
  }

  async attempts(key: string): Promise<number> {
    const hits = await this.send(key, () => this.client.command(['GET', this.keyOf(key)], this.keyOf(key)));
    return hits === null || hits === undefined ? 0 : Number(hits);
  }

  async availableIn(key: string): Promise<number> {
    // PTTL is -2 for a missing key (no open window) and -1 for one without expiry (never written so here).
    const ms = Number(await this.send(key, () => this.client.command(['PTTL', this.keyOf(key)], this.keyOf(key))));
    return ms > 0 ? Math.ceil(ms / 1000) : 0;
  }

  async clear(key: string): Promise<void> {
    await this.send(key, () => this.client.command(['DEL', this.keyOf(key)], this.keyOf(key)));
  }

  private keyOf(key: string): string {
    return `${this.prefix}limit:${key}`;
  }

  private send<T>(key: string, call: () => Promise<T>): Promise<T> {
    return namingErrors(`Rate limit ${key}`, call);
  }
}
