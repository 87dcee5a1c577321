import { randomUUID } from 'node:crypto';

import { bindJobContext, JobContext, jobContextOf } from '../job/job-context.js';
import { fail, show } from './job-matching.js';

/** What a job's `release()`, `delete()` and `fail()` asked for, recorded for `job.assertReleased()` and friends. */
export class FakeJobContext extends JobContext {
  /** The delay of the last `release()` (seconds), undefined when never released. */
  releaseDelay: number | undefined;
  deleted = false;
  /** The error of the last `fail()`, undefined when never failed. */
  failedWith: Error | undefined;

  constructor(displayName: string) {
    super(
      { id: 'fake', uuid: randomUUID(), queue: 'default', connection: 'fake', attempts: 1, displayName },
      new AbortController().signal,
    );
  }

  override release(delay: number): void {
    super.release(delay);
    this.releaseDelay = Math.ceil(delay);
  }

  override delete(): void {
    super.delete();
    this.deleted = true;
  }

  override fail(error?: Error | string): void {
    super.fail(error);
    this.failedWith = this.intent?.kind === 'fail' ? this.intent.error : undefined;
  }
}

/**
 * Binds a fake queue context to `job` so `this.release()`, `this.delete()` and `this.fail()` in
 * `handle()` are recorded instead of needing a worker; returns the job.
 */
export function withFakeQueueInteractions<T extends object>(job: T): T {
  bindJobContext(job, new FakeJobContext(job.constructor.name));
  return job;
}

function fakeOf(job: object, assertion: string): FakeJobContext {
  const context = jobContextOf(job);
  if (!(context instanceof FakeJobContext)) {
    fail(
      `${job.constructor.name}.${assertion}() needs the job's queue interactions faked first: call job.withFakeQueueInteractions() before handle().`,
    );
  }
  return context;
}

/** The job released itself (after `delay` seconds, if given). */
export function assertReleased(job: object, delay?: number): void {
  const { releaseDelay } = fakeOf(job, 'assertReleased');
  if (releaseDelay === undefined) fail(`Job [${job.constructor.name}] was expected to be released, but was not.`);
  if (delay !== undefined && releaseDelay !== delay) {
    fail(
      `Job [${job.constructor.name}] was expected to be released with a delay of ${delay} second(s), but was released with ${releaseDelay}.`,
    );
  }
}

/** The job did not release itself. */
export function assertNotReleased(job: object): void {
  const { releaseDelay } = fakeOf(job, 'assertNotReleased');
  if (releaseDelay !== undefined)
    fail(
      `Job [${job.constructor.name}] was released (delay ${releaseDelay} second(s)) when it was not expected to be.`,
    );
}

/** The job deleted itself. */
export function assertDeleted(job: object): void {
  if (!fakeOf(job, 'assertDeleted').deleted)
    fail(`Job [${job.constructor.name}] was expected to be deleted, but was not.`);
}

/** The job did not delete itself. */
export function assertNotDeleted(job: object): void {
  if (fakeOf(job, 'assertNotDeleted').deleted)
    fail(`Job [${job.constructor.name}] was deleted when it was not expected to be.`);
}

/** The job failed itself with `this.fail()`. */
export function assertFailed(job: object): void {
  if (!fakeOf(job, 'assertFailed').failedWith)
    fail(`Job [${job.constructor.name}] was expected to be manually failed, but was not.`);
}

/** The job did not fail itself. */
export function assertNotFailed(job: object): void {
  const { failedWith } = fakeOf(job, 'assertNotFailed');
  if (failedWith)
    fail(
      `Job [${job.constructor.name}] was manually failed when it was not expected to be: ${show(failedWith.message)}.`,
    );
}

/**
 * The job failed itself with an error of this class, with this message (a string: the exact
 * message; a RegExp: a message it matches), or like this error (same class and message).
 */
export function assertFailedWith(
  job: object,
  expected: (abstract new (...args: any[]) => Error) | Error | string | RegExp,
): void {
  const { failedWith } = fakeOf(job, 'assertFailedWith');
  const name = job.constructor.name;
  if (!failedWith) fail(`Job [${name}] was expected to be manually failed, but was not.`);
  const actual = `${failedWith.name}: ${show(failedWith.message)}`;
  if (typeof expected === 'string') {
    if (failedWith.message !== expected)
      fail(`Job [${name}] was expected to fail with the message ${show(expected)}, but failed with ${actual}.`);
  } else if (expected instanceof RegExp) {
    if (!expected.test(failedWith.message))
      fail(
        `Job [${name}] was expected to fail with a message matching ${String(expected)}, but failed with ${actual}.`,
      );
  } else if (expected instanceof Error) {
    if (failedWith.constructor !== expected.constructor || failedWith.message !== expected.message) {
      fail(
        `Job [${name}] was expected to fail with ${expected.name}: ${show(expected.message)}, but failed with ${actual}.`,
      );
    }
  } else if (!(failedWith instanceof expected)) {
    fail(`Job [${name}] was expected to fail with an error of class [${expected.name}], but failed with ${actual}.`);
  }
}
