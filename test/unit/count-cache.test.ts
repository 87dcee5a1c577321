import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { CountCache } from '../../src/dashboard/count-cache.js';

/** A load whose calls are counted and whose answers are released by hand. */
function loader() {
  const pending: Array<{ resolve(value: number): void; reject(error: Error): void }> = [];
  const load = vi.fn(
    () =>
      new Promise<number>((resolve, reject) => {
        pending.push({ resolve, reject });
      }),
  );
  return { load, pending };
}

describe('CountCache (stale-while-revalidate)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(0);
  });
  afterEach(() => vi.useRealTimers());

  it('makes only the first read wait, then answers from the value and refreshes it once in the background', async () => {
    const cache = new CountCache({ refreshMs: 5000, maxStaleMs: 60_000 });
    const { load, pending } = loader();
    const first = cache.get('q', load);
    const second = cache.get('q', load);
    expect(load).toHaveBeenCalledTimes(1);
    pending[0]!.resolve(1);
    expect([await first, await second]).toEqual([1, 1]);

    vi.setSystemTime(6000);
    // Old enough to refresh: answered from the value at once, and one refresh starts.
    expect(await cache.get('q', load)).toBe(1);
    expect(await cache.get('q', load)).toBe(1);
    expect(load).toHaveBeenCalledTimes(2);
    pending[1]!.resolve(2);
    await vi.waitFor(async () => expect(await cache.get('q', load)).toBe(2));
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('keeps the last value when a refresh fails, and reports the failure', async () => {
    const reported: string[] = [];
    const cache = new CountCache({
      refreshMs: 5000,
      onRefreshError: (key, error) => reported.push(`${key}: ${(error as Error).message}`),
    });
    const { load, pending } = loader();
    const first = cache.get('q', load);
    pending[0]!.resolve(7);
    await first;
    vi.setSystemTime(6000);
    expect(await cache.get('q', load)).toBe(7);
    pending[1]!.reject(new Error('server gone'));
    await vi.waitFor(() => expect(reported).toEqual(['q: server gone']));
    expect(cache.lastError('q')).toBeInstanceOf(Error);
    expect(await cache.get('q', load)).toBe(7);
    // The failed refresh is over, so that read started another.
    expect(load).toHaveBeenCalledTimes(3);
  });

  it('waits for a fresh value once the held one is older than maxStaleMs, or after clear()', async () => {
    const cache = new CountCache({ refreshMs: 5000, maxStaleMs: 60_000 });
    const { load, pending } = loader();
    const first = cache.get('q', load);
    pending[0]!.resolve(1);
    await first;
    vi.setSystemTime(61_000);
    const stale = cache.get('q', load);
    pending[1]!.resolve(2);
    expect(await stale).toBe(2);
    cache.clear();
    const cleared = cache.get('q', load);
    pending[2]!.resolve(3);
    expect(await cleared).toBe(3);
  });

  it('does not keep a failed first load, and loads every time with refreshMs 0', async () => {
    const cache = new CountCache({ refreshMs: 5000 });
    const { load, pending } = loader();
    const first = cache.get('q', load);
    pending[0]!.reject(new Error('down'));
    await expect(first).rejects.toThrow('down');
    const again = cache.get('q', load);
    pending[1]!.resolve(4);
    expect(await again).toBe(4);

    const off = new CountCache(0);
    const counted = loader();
    const a = off.get('q', counted.load);
    const b = off.get('q', counted.load);
    expect(counted.load).toHaveBeenCalledTimes(2);
    counted.pending.forEach((p, i) => p.resolve(i));
    expect([await a, await b]).toEqual([0, 1]);
  });

  it('refreshes different keys at once', async () => {
    const cache = new CountCache({ refreshMs: 5000 });
    const { load, pending } = loader();
    const both = Promise.all([cache.get('a', load), cache.get('b', load)]);
    pending[0]!.resolve(1);
    pending[1]!.resolve(2);
    await both;
    vi.setSystemTime(6000);
    await cache.get('a', load);
    await cache.get('b', load);
    // Both refreshes are under way before either ends.
    expect(load).toHaveBeenCalledTimes(4);
  });
});
