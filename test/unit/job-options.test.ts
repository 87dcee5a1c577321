import { describe, expect, it } from 'vitest';

import { Job } from '../../src/decorators/job.js';
import { JobContext } from '../../src/job/job-context.js';
import { jobRegistry } from '../../src/job/job-registry.js';
import { Queueable } from '../../src/job/queueable.js';
import { effectiveOptions, encodePayload, registeredJobOf } from '../../src/payload/encode-payload.js';

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
    [
      { maxExceptions: 1e10 },
      'Job Bad: option `maxExceptions` must be a whole number from 0 to 2147483647, got 10000000000.',
    ],
    [
      { timeout: 2147483648 },
      'Job Bad: option `timeout` must be a whole number of seconds from 0 to 2147483647, got 2147483648.',
    ],
    [
      { backoff: 1e20 },
      'Job Bad: option `backoff` must be a number of seconds from 0 to 2147483647, got 100000000000000000000.',
    ],
    [{ backoff: [] }, 'Job Bad: option `backoff` must be seconds or a non-empty list of them, got [].'],
    [
      { retryUntil: 1e12 },
      'Job Bad: option `retryUntil` (seconds after dispatch) must be a number of seconds from 0 to 2147483647, got 1000000000000.',
    ],
    [
      { retryUntil: -1 },
      'Job Bad: option `retryUntil` (seconds after dispatch) must be a number of seconds from 0 to 2147483647, got -1.',
    ],
    [{ queue: 'a,b' }, 'Job Bad: option `queue` must not contain a comma.'],
    [
      { retryUntil: 'soon' },
      'Job Bad: option `retryUntil` must be a Date, seconds after dispatch, or a function returning one.',
    ],
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

  it("accepts a timeout past Node's timer limit (it is stepped, not one timer)", () => {
    @Job({ name: 'MonthLong', timeout: 2592000, backoff: [2592000] })
    class MonthLong extends Queueable {
      handle() {}
    }
    expect(jobRegistry.byClass(MonthLong)?.options.timeout).toBe(2592000);
  });

  it('refuses a class without handle() and a second class under a taken name', () => {
    expect(() => Job({ name: 'NoHandle' })(class NoHandle extends Queueable {})).toThrow(
      'Job NoHandle has no handle() method.',
    );
    Job({ name: 'Taken' })(
      class A extends Queueable {
        handle() {}
      },
    );
    expect(() =>
      Job({ name: 'Taken' })(
        class B extends Queueable {
          handle() {}
        },
      ),
    ).toThrow('Two job classes are registered as [Taken]; give one a distinct name');
  });
});

/*
 * Options a job sets on itself, as Laravel reads them from the job object (decision 0044): read at
 * dispatch, over the class's @Job options and under the dispatch's .options(), frozen into the
 * payload and never stored twice as job data.
 */
const deadline = new Date('2030-05-01T12:00:00Z');

@Job({ name: 'own.Options', tries: 9, backoff: 99, queue: 'from-decorator' })
class OwnOptions extends Queueable {
  tries = 3;
  maxExceptions = 2;
  timeout = 30;
  failOnTimeout = true;
  deleteWhenMissingModels = true;
  queue = 'own-queue';
  constructor(public orderId: number) {
    super();
  }
  backoff() {
    return [1, this.orderId];
  }
  retryUntil() {
    return deadline;
  }
  handle() {}
}

@Job({ name: 'own.Epoch' })
class OwnEpoch extends Queueable {
  constructor(public until: unknown) {
    super();
  }
  retryUntil() {
    return this.until;
  }
  handle() {}
}

@Job({ name: 'own.Unset', tries: 4, backoff: [2, 3] })
class OwnUnset extends Queueable {
  tries: number | undefined = undefined;
  backoff() {
    return null;
  }
  handle() {}
}

@Job({ name: 'own.Bad' })
class OwnBad extends Queueable {
  constructor(fields: Record<string, unknown>) {
    super();
    Object.assign(this, fields);
  }
  handle() {}
}

const optionsOf = (job: object, overrides = {}) => effectiveOptions(registeredJobOf(job), overrides, job);
const payloadOf = (job: object, overrides = {}) =>
  encodePayload(job, optionsOf(job, overrides), { now: new Date('2030-01-01T00:00:00Z') });

describe('options a job sets on itself', () => {
  it('reads properties and methods at dispatch into the payload, over the @Job options', () => {
    const payload = payloadOf(new OwnOptions(7));
    expect(payload).toMatchObject({
      maxTries: 3,
      maxExceptions: 2,
      timeout: 30,
      failOnTimeout: true,
      backoff: '1,7',
      retryUntil: Math.floor(deadline.getTime() / 1000),
      deleteWhenMissingModels: true,
    });
    expect(optionsOf(new OwnOptions(7)).queue).toBe('own-queue');
  });

  it('stores only the data: the option properties travel in the payload keys, not in data.command', () => {
    const payload = payloadOf(new OwnOptions(7));
    expect(payload.data.command).toEqual({ orderId: 7 });
  });

  it("is overridden by the dispatch's .options()", () => {
    expect(payloadOf(new OwnOptions(7), { tries: 5, backoff: 4 })).toMatchObject({ maxTries: 5, backoff: '4' });
  });

  it('treats undefined or null as not set: the @Job option applies', () => {
    expect(payloadOf(new OwnUnset())).toMatchObject({ maxTries: 4, backoff: '2,3' });
    expect(payloadOf(new OwnUnset()).data.command).toEqual({});
  });

  it('reads a number from retryUntil() as unix seconds, as Laravel does', () => {
    expect(payloadOf(new OwnEpoch(1_900_000_000)).retryUntil).toBe(1_900_000_000);
  });

  it.each([
    [
      'tries = -1',
      { tries: -1 },
      'Job own.Bad: option `tries` (its tries property) must be a whole number from 0 to 2147483647, got -1.',
    ],
    [
      'timeout = 1.5',
      { timeout: 1.5 },
      'Job own.Bad: option `timeout` (its timeout property) must be a whole number of seconds from 0 to 2147483647, got 1.5.',
    ],
    [
      'backoff = [1, -2]',
      { backoff: [1, -2] },
      'Job own.Bad: option `backoff[1]` (its backoff property) must be a number of seconds from 0 to 2147483647, got -2.',
    ],
    // A function stored on the instance is a name clash; only a method of the class is called.
    [
      'backoff = () => [1, 2]',
      { backoff: () => [1, 2] },
      "Job own.Bad: its backoff property holds a function; `backoff` is an option name (read as @Job's `backoff`): rename the property.",
    ],
    [
      "failOnTimeout = 'yes'",
      { failOnTimeout: 'yes' },
      'Job own.Bad: option `failOnTimeout` (its failOnTimeout property) must be true or false.',
    ],
    [
      "queue = ''",
      { queue: '' },
      'Job own.Bad: option `queue` (its queue property) must be a non-empty string, got "".',
    ],
    [
      'delay = 5',
      { delay: 5 },
      'Job own.Bad: its delay property is not read by errand: a job has no delay of its own here; delay the dispatch: `Job.dispatch(…).delay(seconds)`.',
    ],
    [
      'shouldBeEncrypted = true',
      { shouldBeEncrypted: true },
      'Job own.Bad: its shouldBeEncrypted property is not read by errand: encryption is chosen per class',
    ],
  ])('refuses %s at dispatch, naming the job, the option and where it was read', (_label, fields, message) => {
    expect(() => payloadOf(new OwnBad(fields))).toThrow(message);
  });

  it('refuses a uniqueFor on a job whose class is not unique, as @Job does, and honours it on one that is', () => {
    expect(() => payloadOf(new OwnBad({ uniqueFor: 60 }))).toThrow(
      "Job own.Bad: option `uniqueFor` (its uniqueFor property or method) does nothing without `unique: true` (Laravel's ShouldBeUnique): add it to @Job.",
    );
    expect(optionsOf(new OwnBad({ uniqueFor: 60 }), { unique: true }).uniqueFor).toBe(60);
    expect(payloadOf(new OwnBad({ uniqueFor: 60 }), { unique: true }).data.command).toEqual({});
  });

  it('refuses a retryUntil() that is not an instant: seconds after dispatch, or milliseconds', () => {
    expect(() => payloadOf(new OwnEpoch(3600))).toThrow(
      'Job own.Epoch: option `retryUntil` (its retryUntil() method) must be a Date or unix seconds, got 3600; for seconds after dispatch use @Job({ retryUntil: 3600 }).',
    );
    expect(() => payloadOf(new OwnEpoch(1_900_000_000_000))).toThrow(
      'got 1900000000000, which reads as milliseconds: divide by 1000 or return a Date.',
    );
    expect(() => payloadOf(new OwnEpoch('tomorrow'))).toThrow('must be a Date or unix seconds, got "tomorrow".');
  });

  it('refuses at decoration a Laravel method errand cannot honour', () => {
    expect(() =>
      Job({ name: 'own.Via' })(
        class Via extends Queueable {
          uniqueVia() {
            return 'redis';
          }
          handle() {}
        },
      ),
    ).toThrow(
      'Job own.Via: uniqueVia() is not read by errand: unique locks are kept in the store configured under `locks`, not chosen per job.',
    );
    expect(jobRegistry.byName('own.Via')).toBeUndefined();
  });
});

describe('release() from handle()', () => {
  const context = () =>
    new JobContext(
      { id: '1', uuid: 'u', queue: 'default', connection: 'c', attempts: 1, displayName: 'unit.Releasing' },
      new AbortController().signal,
    );
  it('refuses a delay the jobs table cannot add, naming the job and the bound', () => {
    expect(() => context().release(1e20)).toThrow(
      'release() of unit.Releasing: the delay must be a number of seconds from 0 to 2147483647, got 100000000000000000000.',
    );
    expect(() => context().release(-1)).toThrow(
      'release() of unit.Releasing: the delay must be a number of seconds from 0 to 2147483647, got -1.',
    );
    const ok = context();
    ok.release(2592000.5);
    expect(ok.intent).toEqual({ kind: 'release', delay: 2592001 });
  });
});

describe('retryUntil given as a function', () => {
  it('checks what the function returns at dispatch, naming the job and the bound', () => {
    // The data holds a name for the window: NaN itself is not data a job can carry.
    @Job({
      name: 'unit.RetryUntilFn',
      retryUntil: (job: { window: string }) => ({ minute: 60, nan: Number.NaN, huge: 1e12 })[job.window] ?? 0,
    })
    class RetryUntilFn extends Queueable {
      constructor(public window: 'minute' | 'nan' | 'huge') {
        super();
      }
      handle() {}
    }
    expect(
      encodePayload(new RetryUntilFn('minute'), jobRegistry.byClass(RetryUntilFn)!.options, {
        now: new Date(1_000_000),
      }).retryUntil,
    ).toBe(1060);
    expect(() => encodePayload(new RetryUntilFn('nan'), jobRegistry.byClass(RetryUntilFn)!.options)).toThrow(
      'Job unit.RetryUntilFn: option `retryUntil` (a Date, or seconds after dispatch) must be a number of seconds from 0 to 2147483647, got NaN.',
    );
    expect(() => encodePayload(new RetryUntilFn('huge'), jobRegistry.byClass(RetryUntilFn)!.options)).toThrow(
      'got 1000000000000.',
    );
  });
});
