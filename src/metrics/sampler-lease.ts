import { randomUUID } from 'node:crypto';
import os from 'node:os';

import type { LockStore } from '../contracts/lock-store.js';

/** The lock whose owner samples the depth gauges: one process at a time across every host. */
export const DEPTH_SAMPLER_LOCK = 'errand:metrics:depth-sampler';

/**
 * The lease on the depth sampler's lock, taken and renewed at each sample through the runtime's
 * lock store (whose clock judges expiry, so hosts' clocks need not agree). It lasts two intervals
 * and a second: one late renewal does not hand it over, and a process that died without releasing
 * it is replaced within three intervals.
 */
export class SamplerLease {
  /** Host, pid and a random part: two samplers in one process are two owners. */
  readonly owner = `${os.hostname().slice(0, 180)}:${process.pid}:${randomUUID()}`;
  readonly ttlSeconds: number;
  /** Whether the last claim won; kept through a store error, since the lock may still be ours. */
  private held = false;

  constructor(intervalSeconds: number) {
    this.ttlSeconds = Math.ceil(intervalSeconds) * 2 + 1;
  }

  /**
   * Renews the lease when this owner holds it, else takes it when it is free or expired; false
   * when another owner holds it. A store error rejects and leaves what is known unchanged: the
   * store is not re-entrant, so forgetting a lease still held would lock this owner out of it.
   */
  async claim(locks: LockStore): Promise<boolean> {
    if (this.held && (await locks.refresh(DEPTH_SAMPLER_LOCK, this.owner, this.ttlSeconds))) return true;
    this.held = await locks.acquire(DEPTH_SAMPLER_LOCK, this.owner, this.ttlSeconds);
    return this.held;
  }

  /** Frees the lock when this owner holds it, so another process takes over at its next sample. */
  async release(locks: LockStore): Promise<void> {
    if (!this.held) return;
    this.held = false;
    await locks.release(DEPTH_SAMPLER_LOCK, this.owner);
  }
}
