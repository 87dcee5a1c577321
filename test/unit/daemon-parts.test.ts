import { afterEach, describe, expect, it, vi } from 'vitest';
import { hours, seconds, wholeNumber } from '../../src/console/parse-options.js';
import type { ReservedJob } from '../../src/contracts/reserved-job.js';
import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import { DatabaseUnreachableError } from '../../src/errors/database-unreachable-error.js';
import { longTimeout } from '../../src/runtime/timer-limit.js';
import { Finisher, retryWhileUnreachable } from '../../src/worker/finisher.js';
import { RunningJobsTable } from '../../src/worker/monitor/running-jobs-table.js';
import { handBackDelaySeconds, judge, KILL_FALLBACK_MS, killDeadline } from '../../src/worker/monitor/watchdog.js';
import { PollDelay } from '../../src/worker/poll-delay.js';
import { Sleeper } from '../../src/worker/sleeper.js';
import { validateWorkerOptions } from '../../src/worker/validate-worker-options.js';
import { WORKER_DEFAULTS } from '../../src/worker/worker-options.js';

const job = (id: string): ReservedJob => ({
  id,
  queue: 'default',
  payload: '{}',
  attempts: 1,
  exceptions: 0,
  reservedBy: 'w',
});

describe('Finisher', () => {
  it('sends the deletes of one turn together, and groups the ones that arrive while it is out into the next statement', async () => {
    const batches: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const driver = {
      async deleteMany(jobs: readonly ReservedJob[]) {
        batches.push(jobs.map((j) => j.id));
        if (batches.length === 1) await gate;
        return new Set(jobs.map((j) => j.id).filter((id) => id !== '3'));
      },
    } as unknown as WorkerQueue;
    const finisher = new Finisher(driver);
    const first = ['1', '2'].map((id) => finisher.delete(job(id)));
    // Wait until the first statement is out (held at the gate), then ask for more.
    while (batches.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const later = ['3', '4', '5'].map((id) => finisher.delete(job(id)));
    release();
    expect(await Promise.all([...first, ...later])).toEqual([true, true, false, true, true]);
    expect(batches).toEqual([
      ['1', '2'],
      ['3', '4', '5'],
    ]);
    await finisher.drain();
  });

  it('tries a batch that failed for another reason three times, then rejects its callers and keeps going for later ones', async () => {
    let calls = 0;
    const driver = {
      async deleteMany(jobs: readonly ReservedJob[]) {
        if (calls++ < 3) throw new Error('syntax error');
        return new Set(jobs.map((j) => j.id));
      },
    } as unknown as WorkerQueue;
    const finisher = new Finisher(driver);
    await expect(finisher.delete(job('1'))).rejects.toThrow('syntax error');
    expect(calls).toBe(3);
    await expect(finisher.delete(job('2'))).resolves.toBe(true);
  });

  it('tries a batch again while the database is unreachable, so a job that ran is not left to run twice', async () => {
    let calls = 0;
    const driver = {
      async deleteMany(jobs: readonly ReservedJob[]) {
        if (calls++ < 3) throw new DatabaseUnreachableError('Cannot reach the database of queue connection [database]');
        return new Set(jobs.map((j) => j.id));
      },
    } as unknown as WorkerQueue;
    const finisher = new Finisher(driver);
    await expect(finisher.delete(job('1'))).resolves.toBe(true);
    expect(calls).toBe(4);
  });

  it('gives up on an unreachable database once a stopping worker has waited its patience out', async () => {
    let calls = 0;
    const driver = {
      async deleteMany() {
        calls++;
        throw new DatabaseUnreachableError('Cannot reach the database of queue connection [database]');
      },
    } as unknown as WorkerQueue;
    const finisher = new Finisher(driver, 400);
    const pending = finisher.delete(job('1'));
    const outcome = pending.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await finisher.drain();
    expect(await outcome).toBe('Cannot reach the database of queue connection [database]');
    expect(calls).toBeGreaterThan(1);
  });

  it('keeps trying a delete while the lease lives, and reports the job lost once its lease is found lost', async () => {
    let calls = 0;
    const lost = new Set<string>();
    const driver = {
      async deleteMany(jobs: readonly ReservedJob[]) {
        calls++;
        // Job 1's worker is found presumed dead after a few tries; job 2 is held under a later lease.
        if (calls === 2) lost.add('1');
        if (calls < 4) throw new DatabaseUnreachableError('Cannot reach the database of queue connection [database]');
        return new Set(jobs.map((j) => j.id));
      },
    } as unknown as WorkerQueue;
    const finisher = new Finisher(driver, undefined, (j) => lost.has(j.id));
    const results = Promise.all([finisher.delete(job('1')), finisher.delete(job('2'))]);
    expect(await results).toEqual([false, true]);
    expect(calls).toBe(4);
  });
});

describe('retryWhileUnreachable', () => {
  const unreachable = () => new DatabaseUnreachableError('Cannot reach the database of queue connection [database]');

  it('tries while the lease lives; once it is found lost, tries once more and gives up with the error', async () => {
    let calls = 0;
    let lost = false;
    const pending = retryWhileUnreachable(
      () => {
        // The heartbeat finds the worker presumed dead while the database is still unreachable.
        if (++calls === 3) lost = true;
        return Promise.reject(unreachable());
      },
      undefined,
      () => lost,
    );
    await expect(pending).rejects.toThrow('Cannot reach the database');
    expect(calls).toBe(4);
  });

  it('tries a finishing write again while the database cannot be reached', async () => {
    let calls = 0;
    await expect(
      retryWhileUnreachable(async () => (calls++ < 2 ? Promise.reject(unreachable()) : 'done')),
    ).resolves.toBe('done');
    expect(calls).toBe(3);
  });

  it('passes other errors through at once, and gives up once the stop signal has aborted', async () => {
    let calls = 0;
    await expect(retryWhileUnreachable(() => (calls++, Promise.reject(new RangeError('bad row'))))).rejects.toThrow(
      'bad row',
    );
    expect(calls).toBe(1);
    const stop = new AbortController();
    const pending = retryWhileUnreachable(() => (calls++, Promise.reject(unreachable())), stop.signal);
    setTimeout(() => stop.abort(), 300);
    await expect(pending).rejects.toThrow('Cannot reach the database');
    expect(calls).toBeGreaterThan(2);
  });

  it('makes exactly one more try when the stop gives up during a wait between tries', async () => {
    const stop = new AbortController();
    let calls = 0;
    let callsAtAbort = -1;
    const pending = retryWhileUnreachable(() => {
      // The second failure is followed by a 250 ms wait; the give-up lands inside it.
      if (++calls === 2) setTimeout(() => ((callsAtAbort = calls), stop.abort()), 50);
      return Promise.reject(unreachable());
    }, stop.signal);
    await expect(pending).rejects.toThrow('Cannot reach the database');
    expect(callsAtAbort).toBe(2);
    expect(calls - callsAtAbort).toBe(1);
  });
});

describe('PollDelay', () => {
  it('polls at once after jobs, doubles while empty, and settles at --sleep', () => {
    const delay = new PollDelay(3);
    expect(delay.next(false)).toBe(3);
    expect(delay.next(true)).toBe(0);
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map(() => delay.next(false))).toEqual([
      0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 3,
    ]);
    delay.reset();
    expect(delay.next(false)).toBe(0.005);
  });
});

describe('Sleeper', () => {
  it('keeps a wake-up that comes before the sleep, so none is lost', async () => {
    const sleeper = new Sleeper();
    sleeper.wake();
    const started = Date.now();
    await sleeper.sleep(30);
    expect(Date.now() - started).toBeLessThan(5000);
    const pending = sleeper.sleep();
    sleeper.wake();
    await pending;
  });

  describe('wakeAt', () => {
    afterEach(() => vi.useRealTimers());
    it('wakes at the time, not before, even when its timer fires early by the wall clock', () => {
      vi.useFakeTimers({ now: 1_000_000 });
      const sleeper = new Sleeper();
      const wake = vi.spyOn(sleeper, 'wake');
      sleeper.wakeAt(1_010_000);
      // The wall clock steps back 3 s: the timer fires on schedule, 3 s early by Date.now().
      vi.setSystemTime(997_000);
      vi.advanceTimersByTime(10_000);
      expect(Date.now()).toBe(1_007_000);
      expect(wake).not.toHaveBeenCalled();
      vi.advanceTimersByTime(3_000);
      expect(wake).toHaveBeenCalledTimes(1);
    });
    it('waits out a time beyond the longest Node timer in steps, and can be cancelled', () => {
      vi.useFakeTimers({ now: 0 });
      const sleeper = new Sleeper();
      const wake = vi.spyOn(sleeper, 'wake');
      const thirtyDays = 30 * 24 * 3600 * 1000;
      sleeper.wakeAt(thirtyDays);
      vi.advanceTimersByTime(2 ** 31 - 1);
      expect(wake).not.toHaveBeenCalled();
      vi.advanceTimersByTime(thirtyDays - (2 ** 31 - 1) - 1);
      expect(wake).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(wake).toHaveBeenCalledTimes(1);
      // Cancelled before its first timer fires, and after a step.
      const other = new Sleeper();
      const otherWake = vi.spyOn(other, 'wake');
      other.wakeAt(2 * thirtyDays)();
      const cancel = other.wakeAt(3 * thirtyDays);
      vi.advanceTimersByTime(2 ** 31);
      cancel();
      vi.advanceTimersByTime(2 * thirtyDays);
      expect(otherWake).not.toHaveBeenCalled();
    });
  });

  describe('longTimeout (job timeouts, --sleep, --rest, the grace)', () => {
    afterEach(() => vi.useRealTimers());
    it('fires a wait beyond the longest Node timer at its time, not at once, and can be cancelled', () => {
      vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'performance'] });
      const thirtyDays = 30 * 24 * 3600 * 1000;
      const fired = vi.fn();
      longTimeout(fired, thirtyDays);
      vi.advanceTimersByTime(1);
      expect(fired).not.toHaveBeenCalled();
      vi.advanceTimersByTime(thirtyDays - 2);
      expect(fired).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(fired).toHaveBeenCalledTimes(1);
      const cancelled = vi.fn();
      const cancel = longTimeout(cancelled, thirtyDays);
      vi.advanceTimersByTime(2 ** 31);
      cancel();
      vi.advanceTimersByTime(thirtyDays);
      expect(cancelled).not.toHaveBeenCalled();
    });
    it('sleeps a --sleep beyond the longest Node timer until woken', async () => {
      vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
      const sleeper = new Sleeper();
      let done = false;
      const sleeping = sleeper.sleep(2592000).then(() => (done = true));
      await vi.advanceTimersByTimeAsync(1000);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(2592000 * 1000);
      await sleeping;
      expect(done).toBe(true);
    });
  });
});

describe('watchdog judge', () => {
  const watched = (deadline: number) => ({ id: '7', deadline });
  const names = () => 'Blocker';
  it('never acts while the event loop turns, however late a job is', () => {
    expect(judge(100_000, 99_500, [watched(0)], 5000, 15_000)).toBeUndefined();
  });
  it('blames a job past its deadline and the grace when the loop is blocked', () => {
    expect(judge(10_000, 5_000, [watched(6_000)], 5000, 15_000)).toBeUndefined();
    const verdict = judge(11_001, 5_000, [watched(6_000)], 5000, 15_000);
    expect(verdict?.overdue.map((w) => w.id)).toEqual(['7']);
    expect(verdict?.describe(names)).toMatch(
      /Blocker #7 is 5\.0 s past its timeout and the event loop has been blocked for 6\.0 s/,
    );
  });
  it('with no deadline to wait for, ends a loop blocked past the heartbeat lapse and charges the running jobs', () => {
    expect(judge(15_000, 1_000, [watched(Infinity)], 5000, 15_000)).toBeUndefined();
    expect(judge(16_001, 1_000, [watched(Infinity)], 5000, 15_000)?.overdue).toHaveLength(1);
    expect(judge(16_001, 1_000, [], 5000, 15_000)?.describe(names)).toMatch(/no job deadline/);
    // A job still within its deadline is waited for.
    expect(judge(16_001, 1_000, [watched(20_000)], 5000, 15_000)).toBeUndefined();
  });
  it('ends the process before any row it handed back falls due, however late in its second each write lands', () => {
    // A row's available_at is the database's whole second at its write plus the delay; it is due
    // once the database's second reaches it.
    const dueAt = (writtenAtMs: number, delay: number) => (Math.floor(writtenAtMs / 1000) + delay) * 1000;
    for (const startedAt of [1_000_000, 1_000_500, 1_000_999]) {
      const deadline = killDeadline(startedAt);
      // Sooner than the SIGKILL fallback alone would, and leaving time to hand the jobs back.
      expect(deadline - startedAt).toBeLessThanOrEqual(KILL_FALLBACK_MS);
      expect(deadline - startedAt).toBeGreaterThanOrEqual(1000);
      // Every write is sent after the hand-back began, at any point of its second.
      for (const writtenAt of [startedAt, startedAt + 1, startedAt + 999, startedAt + 1500]) {
        expect(dueAt(writtenAt, handBackDelaySeconds())).toBeGreaterThan(deadline);
        expect(dueAt(writtenAt, handBackDelaySeconds(0.5))).toBeGreaterThan(deadline);
      }
    }
    // A longer backoff is kept, rounded up to the rows' whole seconds.
    expect(handBackDelaySeconds(10)).toBe(10);
    expect(handBackDelaySeconds(9.2)).toBe(10);
  });
});

describe('RunningJobsTable', () => {
  it('shows the other thread each running job and its deadline, and frees the slot when the attempt ends', () => {
    const main = new RunningJobsTable(RunningJobsTable.allocate(2));
    // The monitor thread builds its own view of the same memory.
    const monitor = new RunningJobsTable(main.memory);
    const [a, b, c] = [{ id: '41' }, { id: '9007199254740991' }, { id: '43' }];
    main.add(a, 1_000);
    main.add(b, Infinity);
    expect(monitor.read()).toEqual(
      expect.arrayContaining([
        { id: '41', deadline: 1_000 },
        { id: '9007199254740991', deadline: Infinity },
      ]),
    );
    expect(() => main.add(c, 5)).toThrow('The running-jobs table is full (2 slots) while job #43 starts.');
    main.remove(a);
    main.add(c, 2_000);
    expect(monitor.read()).toEqual(
      expect.arrayContaining([
        { id: '43', deadline: 2_000 },
        { id: '9007199254740991', deadline: Infinity },
      ]),
    );
    main.remove(c);
    main.remove(b);
    expect(monitor.read()).toEqual([]);
  });

  it("keeps two attempts of one row apart: the first ending frees its own slot, not the second one's", () => {
    const main = new RunningJobsTable(RunningJobsTable.allocate(2));
    const [first, second] = [{ id: '7' }, { id: '7' }];
    main.add(first, 1_000);
    main.add(second, 2_000);
    main.remove(first);
    expect(main.read()).toEqual([{ id: '7', deadline: 2_000 }]);
    main.remove(second);
    expect(main.read()).toEqual([]);
  });

  it('keeps ids that are not numbers (Redis job ids) and integers past 2^53 exactly', () => {
    const main = new RunningJobsTable(RunningJobsTable.allocate(3));
    const monitor = new RunningJobsTable(main.memory);
    main.add({ id: '29rtx0ow0000000001' }, 1_000);
    main.add({ id: '9007199254740993' }, 2_000);
    main.add({ id: 'x'.repeat(63) }, 3_000);
    expect(monitor.read()).toEqual([
      { id: '29rtx0ow0000000001', deadline: 1_000 },
      { id: '9007199254740993', deadline: 2_000 },
      { id: 'x'.repeat(63), deadline: 3_000 },
    ]);
  });

  it('refuses an id it could not store whole, and keeps the slot free', () => {
    const table = new RunningJobsTable(RunningJobsTable.allocate(1));
    const long = 'x'.repeat(64);
    expect(() => table.add({ id: long }, 1)).toThrow(
      `The running-jobs table holds job ids of at most 63 bytes; got [${long}].`,
    );
    table.add({ id: '1' }, 5);
    expect(table.read()).toEqual([{ id: '1', deadline: 5 }]);
  });
});

describe('validateWorkerOptions', () => {
  const db = {
    driver: 'database',
    client: 'pg',
    connection: '',
    table: 'jobs',
    queue: 'default',
    retryAfter: 90,
    queryTimeout: 30,
    heartbeat: false,
    workersTable: 'w',
    controlsTable: 'c',
    afterCommit: false,
  } as const;
  it('names the option at fault', () => {
    expect(() => validateWorkerOptions({ ...WORKER_DEFAULTS, concurrency: 0 }, undefined)).toThrow(
      '--concurrency must be a whole number from 1 to 2147483647, got 0.',
    );
    expect(() => validateWorkerOptions({ ...WORKER_DEFAULTS, sleep: -1 }, undefined)).toThrow(
      '--sleep must be a number of seconds from 0 to 2147483647, got -1.',
    );
  });
  it('bounds every count and duration as the CLI flags do', () => {
    expect(() => validateWorkerOptions({ ...WORKER_DEFAULTS, tries: 2 ** 31 }, undefined)).toThrow(
      '--tries must be a whole number from 0 to 2147483647, got 2147483648.',
    );
    expect(() => validateWorkerOptions({ ...WORKER_DEFAULTS, timeout: 1e12 }, undefined)).toThrow(
      '--timeout must be a number of seconds from 0 to 2147483647, got 1000000000000.',
    );
    expect(() => validateWorkerOptions({ ...WORKER_DEFAULTS, backoff: Infinity }, undefined)).toThrow(
      '--backoff must be a number of seconds from 0 to 2147483647, got Infinity.',
    );
    expect(() => validateWorkerOptions({ ...WORKER_DEFAULTS, grace: 1e12 }, undefined)).toThrow(
      '--grace must be a number of seconds from 0 to 2147483647',
    );
    // Past Node's timer limit is allowed: those waits are stepped.
    expect(() =>
      validateWorkerOptions(
        { ...WORKER_DEFAULTS, timeout: 2592000, sleep: 2592000, rest: 2592000, maxTime: 2592000 },
        undefined,
      ),
    ).not.toThrow();
  });
  it('parses queue:work flags within their bounds, naming the flag', () => {
    expect(wholeNumber('--timeout', 'seconds')('2592000')).toBe(2592000);
    expect(() => wholeNumber('--timeout', 'seconds')('2147483648')).toThrow(
      '--timeout must be a whole number of seconds from 0 to 2147483647, got "2147483648".',
    );
    expect(() => wholeNumber('--tries')('-1')).toThrow(
      '--tries must be a whole number from 0 to 2147483647, got "-1".',
    );
    expect(() => wholeNumber('--max-jobs')('')).toThrow(
      '--max-jobs must be a whole number from 0 to 2147483647, got "".',
    );
    expect(seconds('--sleep')('0.5')).toBe(0.5);
    expect(() => seconds('--sleep')('1e10')).toThrow(
      '--sleep must be a number of seconds from 0 to 2147483647, got "1e10".',
    );
  });
  it("parses the prune commands' --hours within the bound, naming the flag", () => {
    expect(hours('--hours')('24')).toBe(24);
    expect(() => hours('--hours')('1e9')).toThrow('--hours must be a number of hours from 0 to 596523, got "1e9".');
  });
  it('refuses a timeout that reaches retryAfter when heartbeats are off', () => {
    expect(() => validateWorkerOptions({ ...WORKER_DEFAULTS, timeout: 90 }, db)).toThrow(
      /--timeout 90 s is not below retryAfter \(90 s\) and heartbeats are off/,
    );
    expect(() => validateWorkerOptions({ ...WORKER_DEFAULTS, timeout: 0 }, db)).toThrow(/--timeout 0 \(no limit\)/);
    expect(() => validateWorkerOptions({ ...WORKER_DEFAULTS, timeout: 60 }, db)).not.toThrow();
    expect(() =>
      validateWorkerOptions({ ...WORKER_DEFAULTS, timeout: 600 }, { ...db, heartbeat: { interval: 3, lapse: 15 } }),
    ).not.toThrow();
  });
});
