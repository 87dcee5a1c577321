import type { RedisClient } from './redis-client.js';

/** Ids reserved per round trip: a dispatcher asks the server once per this many jobs. */
const BLOCK = 1000;

/**
 * Added to the counter so every id has 13 digits for the first 9 × 10^12 jobs: jobs due at the
 * same millisecond are claimed in id order, which a sorted set compares as strings.
 */
const BASE = 1_000_000_000_000;

/**
 * Job ids of one redis connection: whole numbers of 13 digits, unique across queues and processes,
 * reserved from the counter `key` in blocks so that most pushes need no round trip of their own.
 */
export class JobIds {
  private next = 0;
  private end = 0;
  private refill: Promise<void> | undefined;

  constructor(
    private readonly client: RedisClient,
    private readonly key: string,
  ) {}

  /** `count` new ids, in increasing order. */
  async take(count: number): Promise<string[]> {
    while (this.end - this.next < count) {
      if (count > BLOCK) {
        // A bulk push larger than a block gets a block of its own size.
        const last = Number(await this.client.command(['INCRBY', this.key, String(count)], this.key));
        return range(last - count + 1, count);
      }
      this.refill ??= this.reserve().finally(() => (this.refill = undefined));
      await this.refill;
    }
    const ids = range(this.next, count);
    this.next += count;
    return ids;
  }

  private async reserve(): Promise<void> {
    const last = Number(await this.client.command(['INCRBY', this.key, String(BLOCK)], this.key));
    this.next = last - BLOCK + 1;
    this.end = last + 1;
  }
}

function range(first: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => String(BASE + first + i));
}
