import { describe, expect, it } from 'vitest';

import { Job } from '../../src/decorators/job.js';
import { ManuallyFailedError } from '../../src/errors/manually-failed-error.js';
import { Queueable } from '../../src/job/queueable.js';
import { assertionFrom } from '../helpers/assertion-from.js';

/* A job's withFakeQueueInteractions(): handle() runs in the test, no worker, no database. */

class QuotaExceeded extends Error {}

@Job()
class FqiSync extends Queueable {
  constructor(
    readonly action: 'release' | 'release-later' | 'delete' | 'fail' | 'fail-with' | 'fail-message' | 'nothing',
  ) {
    super();
  }
  async handle(): Promise<void> {
    if (this.action === 'release') this.release();
    if (this.action === 'release-later') this.release(30);
    if (this.action === 'delete') this.delete();
    if (this.action === 'fail') this.fail();
    if (this.action === 'fail-with') this.fail(new QuotaExceeded('quota of 100 reached'));
    if (this.action === 'fail-message') this.fail('remote said no');
  }
}

async function ran(action: FqiSync['action']): Promise<FqiSync> {
  const job = new FqiSync(action).withFakeQueueInteractions();
  await job.handle();
  return job;
}

describe('withFakeQueueInteractions()', () => {
  it('returns the job itself, and lets release()/delete()/fail() run outside a worker', async () => {
    const job = new FqiSync('nothing');
    expect(job.withFakeQueueInteractions()).toBe(job);
    expect(() => new FqiSync('release').release()).toThrow('can only be called while the job runs on a queue');
    await expect(ran('release')).resolves.toBeInstanceOf(FqiSync);
  });

  it('assertReleased / assertNotReleased, with and without a delay', async () => {
    const released = await ran('release-later');
    released.assertReleased();
    released.assertReleased(30);
    expect(assertionFrom(() => released.assertReleased(10)).message).toBe(
      'Job [FqiSync] was expected to be released with a delay of 10 second(s), but was released with 30.',
    );
    expect(assertionFrom(() => released.assertNotReleased()).message).toBe(
      'Job [FqiSync] was released (delay 30 second(s)) when it was not expected to be.',
    );
    const idle = await ran('nothing');
    idle.assertNotReleased();
    expect(assertionFrom(() => idle.assertReleased()).message).toBe(
      'Job [FqiSync] was expected to be released, but was not.',
    );
    (await ran('release')).assertReleased(0);
  });

  it('assertDeleted / assertNotDeleted', async () => {
    const deleted = await ran('delete');
    deleted.assertDeleted();
    deleted.assertNotReleased();
    expect(assertionFrom(() => deleted.assertNotDeleted()).message).toBe(
      'Job [FqiSync] was deleted when it was not expected to be.',
    );
    const idle = await ran('nothing');
    idle.assertNotDeleted();
    expect(assertionFrom(() => idle.assertDeleted()).message).toBe(
      'Job [FqiSync] was expected to be deleted, but was not.',
    );
  });

  it('assertFailed / assertNotFailed', async () => {
    const failed = await ran('fail');
    failed.assertFailed();
    failed.assertFailedWith(ManuallyFailedError);
    expect(assertionFrom(() => failed.assertNotFailed()).message).toBe(
      "Job [FqiSync] was manually failed when it was not expected to be: 'FqiSync was marked as failed.'.",
    );
    const idle = await ran('nothing');
    idle.assertNotFailed();
    expect(assertionFrom(() => idle.assertFailed()).message).toBe(
      'Job [FqiSync] was expected to be manually failed, but was not.',
    );
  });

  it('assertFailedWith: an error class, an exact message, a RegExp, an error', async () => {
    const failed = await ran('fail-with');
    failed.assertFailedWith(QuotaExceeded);
    failed.assertFailedWith(Error);
    failed.assertFailedWith('quota of 100 reached');
    failed.assertFailedWith(/quota/);
    failed.assertFailedWith(new QuotaExceeded('quota of 100 reached'));
    expect(assertionFrom(() => failed.assertFailedWith(RangeError)).message).toBe(
      "Job [FqiSync] was expected to fail with an error of class [RangeError], but failed with Error: 'quota of 100 reached'.",
    );
    expect(assertionFrom(() => failed.assertFailedWith('other')).message).toBe(
      "Job [FqiSync] was expected to fail with the message 'other', but failed with Error: 'quota of 100 reached'.",
    );
    expect(assertionFrom(() => failed.assertFailedWith(/^nope/)).message).toContain(
      'expected to fail with a message matching /^nope/',
    );
    expect(assertionFrom(() => failed.assertFailedWith(new Error('quota of 100 reached'))).message).toContain(
      'expected to fail with Error:',
    );
    (await ran('fail-message')).assertFailedWith('remote said no');
    const idle = await ran('nothing');
    expect(assertionFrom(() => idle.assertFailedWith(Error)).message).toBe(
      'Job [FqiSync] was expected to be manually failed, but was not.',
    );
  });

  it('tells the test to call withFakeQueueInteractions() first', () => {
    expect(assertionFrom(() => new FqiSync('nothing').assertReleased()).message).toBe(
      "FqiSync.assertReleased() needs the job's queue interactions faked first: call job.withFakeQueueInteractions() before handle().",
    );
  });
});
