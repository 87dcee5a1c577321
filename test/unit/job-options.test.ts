import { describe, expect, it } from 'vitest';

import { Job } from '../../src/decorators/job.js';
import { Queueable } from '../../src/job/queueable.js';
import { jobRegistry } from '../../src/job/job-registry.js';
import { JobContext } from '../../src/job/job-context.js';
import { encodePayload } from '../../src/payload/encode-payload.js';

describe('@Job', () => {
  it('registers the class under its name or the given one', () => {
    @Job({ name: 'billing.SendInvoice', tries: 2 })
    class SendInvoice extends Queueable {
      handle() {}
    }
    expect(jobRegistry.byName('billing.SendInvoice')?.target).toBe(SendInvoice);
    expect(jobRegistry.byClass(SendInvoice)?.options.tries).toBe(2);
  });

  it.each([
    [{ tries: -1 }, 'Job Bad: option `tries` must be a whole number from 0 to 2147483647, got -1.'],
    [{ timeout: 1.5 }, 'Job Bad: option `timeout` must be a whole number of seconds from 0 to 2147483647, got 1.5.'],
    [{ backoff: [1, -2] }, 'Job Bad: option `backoff[1]` must be a number of seconds from 0 to 2147483647, got -2.'],
    // The bounds: what the jobs table holds (decision 0036).
    [{ tries: 2147483648 }, 'Job Bad: option `tries` must be a whole number from 0 to 2147483647, got 2147483648.'],
    [{ maxExceptions: 1e10 }, 'Job Bad: option `maxExceptions` must be a whole number from 0 to 2147483647, got 10000000000.'],
    [{ timeout: 2147483648 }, 'Job Bad: option `timeout` must be a whole number of seconds from 0 to 2147483647, got 2147483648.'],
    [{ backoff: 1e20 }, 'Job Bad: option `backoff` must be a number of seconds from 0 to 2147483647, got 100000000000000000000.'],
    [{ backoff: [] }, 'Job Bad: option `backoff` must be seconds or a non-empty list of them, got [].'],
    [{ retryUntil: 1e12 }, 'Job Bad: option `retryUntil` (seconds after dispatch) must be a number of seconds from 0 to 2147483647, got 1000000000000.'],
    [{ retryUntil: -1 }, 'Job Bad: option `retryUntil` (seconds after dispatch) must be a number of seconds from 0 to 2147483647, got -1.'],
    [{ queue: 'a,b' }, 'Job Bad: option `queue` must not contain a comma.'],
    [{ retryUntil: 'soon' }, 'Job Bad: option `retryUntil` must be a Date, seconds after dispatch, or a function returning one.'],
    [{ tris: 3 }, 'Job Bad: unknown option `tris`; known options:'],
  ])('rejects %j with an error naming the job and option', (options, message) => {
    expect(() => {
      @Job({ name: 'Bad', ...(options as object) })
      class Bad extends Queueable {
        handle() {}
      }
      return Bad;
    }).toThrow(message);
  });

  it('accepts a timeout past Node\'s timer limit (it is stepped, not one timer)', () => {
    @Job({ name: 'MonthLong', timeout: 2592000, backoff: [2592000] })
    class MonthLong extends Queueable {
      handle() {}
    }
    expect(jobRegistry.byClass(MonthLong)?.options.timeout).toBe(2592000);
  });

  it('refuses a class without handle() and a second class under a taken name', () => {
    expect(() => Job({ name: 'NoHandle' })(class NoHandle extends Queueable {})).toThrow('Job NoHandle has no handle() method.');
    Job({ name: 'Taken' })(class A extends Queueable { handle() {} });
    expect(() => Job({ name: 'Taken' })(class B extends Queueable { handle() {} })).toThrow(
      'Two job classes are registered as [Taken]; give one a distinct name',
    );
  });
});

describe('release() from handle()', () => {
  const context = () => new JobContext({ id: '1', uuid: 'u', queue: 'default', connection: 'c', attempts: 1, displayName: 'unit.Releasing' }, new AbortController().signal);
  it('refuses a delay the jobs table cannot add, naming the job and the bound', () => {
    expect(() => context().release(1e20)).toThrow('release() of unit.Releasing: the delay must be a number of seconds from 0 to 2147483647, got 100000000000000000000.');
    expect(() => context().release(-1)).toThrow('release() of unit.Releasing: the delay must be a number of seconds from 0 to 2147483647, got -1.');
    const ok = context();
    ok.release(2592000.5);
    expect(ok.intent).toEqual({ kind: 'release', delay: 2592001 });
  });
});

describe('retryUntil given as a function', () => {
  it('checks what the function returns at dispatch, naming the job and the bound', () => {
    // The data holds a name for the window: NaN itself is not data a job can carry.
    @Job({ name: 'unit.RetryUntilFn', retryUntil: (job: { window: string }) => ({ minute: 60, nan: Number.NaN, huge: 1e12 })[job.window] ?? 0 })
    class RetryUntilFn extends Queueable {
      constructor(public window: 'minute' | 'nan' | 'huge') {
        super();
      }
      handle() {}
    }
    expect(encodePayload(new RetryUntilFn('minute'), jobRegistry.byClass(RetryUntilFn)!.options, { now: new Date(1_000_000) }).retryUntil).toBe(1060);
    expect(() => encodePayload(new RetryUntilFn('nan'), jobRegistry.byClass(RetryUntilFn)!.options)).toThrow(
      'Job unit.RetryUntilFn: option `retryUntil` (a Date, or seconds after dispatch) must be a number of seconds from 0 to 2147483647, got NaN.',
    );
    expect(() => encodePayload(new RetryUntilFn('huge'), jobRegistry.byClass(RetryUntilFn)!.options)).toThrow('got 1000000000000.');
  });
});
