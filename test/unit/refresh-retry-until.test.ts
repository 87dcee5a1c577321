import { describe, expect, it } from 'vitest';

import { Job } from '../../src/decorators/job.js';
import { refreshRetryUntil } from '../../src/failed/refresh-retry-until.js';
import { Queueable } from '../../src/job/queueable.js';
import { effectiveOptions, encodePayload, registeredJobOf } from '../../src/payload/encode-payload.js';
import { Keyring } from '../../src/payload/keyring.js';

@Job({ name: 'RruByFunction', retryUntil: (job: RruByFunction) => job.minutes * 60 })
class RruByFunction extends Queueable {
  constructor(readonly minutes: number) {
    super();
  }
  async handle(): Promise<void> {}
}

const fixed = new Date('2030-01-01T00:00:00Z');
@Job({ name: 'RruByDate', retryUntil: fixed })
class RruByDate extends Queueable {
  async handle(): Promise<void> {}
}

@Job({ name: 'RruNone' })
class RruNone extends Queueable {
  async handle(): Promise<void> {}
}

/** A Laravel-style retryUntil() method: it wins over the class option, at dispatch and on retry. */
@Job({ name: 'RruByMethod', retryUntil: 60 })
class RruByMethod extends Queueable {
  constructor(readonly deadline: number) {
    super();
  }
  retryUntil(): number {
    return this.deadline;
  }
  async handle(): Promise<void> {}
}

const keyring = new Keyring(undefined);
const dispatchedAt = new Date('2026-01-01T00:00:00Z');
const retriedAt = new Date('2026-06-01T00:00:00Z');
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
const encode = (job: object) =>
  JSON.stringify(encodePayload(job, effectiveOptions(registeredJobOf(job), {}, job), { now: dispatchedAt }));

describe('refreshRetryUntil', () => {
  it('evaluates a function option again with the job rebuilt from the payload, counted from the retry', () => {
    const raw = encode(new RruByFunction(5));
    expect(JSON.parse(raw).retryUntil).toBe(seconds(dispatchedAt) + 300);
    const refreshed = JSON.parse(refreshRetryUntil(raw, keyring, retriedAt));
    expect(refreshed.retryUntil).toBe(seconds(retriedAt) + 300);
    // Nothing else in the payload changes.
    expect({ ...refreshed, retryUntil: 0 }).toEqual({ ...JSON.parse(raw), retryUntil: 0 });
  });

  it('keeps a fixed Date: the option names an instant, not a window', () => {
    const raw = encode(new RruByDate());
    expect(refreshRetryUntil(raw, keyring, retriedAt)).toBe(raw);
  });

  it("evaluates the job's own retryUntil() method again, over the class option, as at dispatch", () => {
    const deadline = seconds(new Date('2026-09-01T00:00:00Z'));
    const raw = encode(new RruByMethod(deadline));
    expect(JSON.parse(raw).retryUntil).toBe(deadline);
    expect(JSON.parse(refreshRetryUntil(raw, keyring, retriedAt)).retryUntil).toBe(deadline);
  });

  it('counts the original window from the retry when the class is not registered here', () => {
    const payload = {
      ...JSON.parse(encode(new RruByFunction(1))),
      data: { commandName: 'NotRegisteredAnywhere', command: {} },
    };
    const refreshed = JSON.parse(refreshRetryUntil(JSON.stringify(payload), keyring, retriedAt));
    expect(refreshed.retryUntil).toBe(seconds(retriedAt) + 60);
  });

  it('returns other payloads byte for byte: no retryUntil, or not a payload at all', () => {
    const raw = encode(new RruNone());
    expect(refreshRetryUntil(raw, keyring, retriedAt)).toBe(raw);
    expect(refreshRetryUntil('{"retryUntil": 5, "broken"', keyring, retriedAt)).toBe('{"retryUntil": 5, "broken"');
    expect(refreshRetryUntil('{"retryUntil": 5}', keyring, retriedAt)).toBe('{"retryUntil": 5}');
  });
});
