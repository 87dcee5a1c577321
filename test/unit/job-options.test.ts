import { describe, expect, it } from 'vitest';

import { Job } from '../../src/decorators/job.js';
import { Queueable } from '../../src/job/queueable.js';
import { jobRegistry } from '../../src/job/job-registry.js';

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
    [{ tries: -1 }, 'Job Bad: option `tries` must be a whole number ≥ 0, got -1.'],
    [{ timeout: 1.5 }, 'Job Bad: option `timeout` must be a whole number ≥ 0, got 1.5.'],
    [{ backoff: [1, -2] }, 'Job Bad: option `backoff` must be seconds ≥ 0 or a non-empty list of them, got [1,-2].'],
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

  it('refuses a class without handle() and a second class under a taken name', () => {
    expect(() => Job({ name: 'NoHandle' })(class NoHandle extends Queueable {})).toThrow('Job NoHandle has no handle() method.');
    Job({ name: 'Taken' })(class A extends Queueable { handle() {} });
    expect(() => Job({ name: 'Taken' })(class B extends Queueable { handle() {} })).toThrow(
      'Two job classes are registered as [Taken]; give one a distinct name',
    );
  });
});
