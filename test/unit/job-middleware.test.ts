import { readFileSync } from 'node:fs';

import Ajv2020 from 'ajv/dist/2020.js';
import { container } from 'tsyringe';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { dispatch } from '../../src/bus/dispatch.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { kebabCase, writeClass } from '../../src/console/commands/make-commands.js';
import type { FailedJobRecord, FailedJobStore } from '../../src/contracts/failed-job-store.js';
import type { JobMiddleware as JobMiddlewareContract, NextMiddleware } from '../../src/contracts/job-middleware.js';
import type { ReservedJob } from '../../src/contracts/reserved-job.js';
import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import { Job } from '../../src/decorators/job.js';
import { JobMiddleware } from '../../src/decorators/job-middleware.js';
import { ConfigError } from '../../src/errors/config-error.js';
import { PayloadError } from '../../src/errors/payload-error.js';
import { EventBus } from '../../src/events/event-bus.js';
import { type AttemptOutcome, runAttempt } from '../../src/execution/run-attempt.js';
import type { JobInfo } from '../../src/job/job-context.js';
import { Queueable } from '../../src/job/queueable.js';
import { FailOnException } from '../../src/middleware/fail-on-exception.js';
import { Limit } from '../../src/middleware/limit.js';
import { swapRateLimitStore } from '../../src/middleware/rate-limit-store.js';
import { RateLimited } from '../../src/middleware/rate-limited.js';
import { RateLimiter } from '../../src/middleware/rate-limiter.js';
import { Skip } from '../../src/middleware/skip.js';
import { ThrottlesExceptions } from '../../src/middleware/throttles-exceptions.js';
import { decodeJob, parsePayload } from '../../src/payload/decode-payload.js';
import { encodePayload, registeredJobOf } from '../../src/payload/encode-payload.js';
import type { JobPayload } from '../../src/payload/job-payload.js';
import { generateKey, Keyring, parseKey } from '../../src/payload/keyring.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { JobProcessor } from '../../src/worker/job-processor.js';
import { MemoryRateLimitStore } from '../helpers/memory-rate-limit-store.js';

const steps: string[] = [];

/** Records its way in and out, so the order of a pipeline can be read back. */
class Tracing implements JobMiddlewareContract {
  constructor(public label: string) {}
  async handle(job: Queueable, next: NextMiddleware) {
    steps.push(`${this.label}>`);
    const result = await next(job);
    steps.push(`<${this.label}`);
    return result;
  }
}

/** A storable middleware: its plain data travels in the payload. */
@JobMiddleware()
class StampMiddleware implements JobMiddlewareContract {
  constructor(
    public stamp: string,
    public times = 1,
  ) {}
  async handle(job: Queueable, next: NextMiddleware) {
    steps.push(`stamp:${this.stamp}x${this.times}`);
    return next(job);
  }
}

/** Registered, but holds a function: refused by through(). */
@JobMiddleware()
class ClosureMiddleware implements JobMiddlewareContract {
  check = (job: Queueable) => Boolean(job);
  async handle(job: Queueable, next: NextMiddleware) {
    return next(job);
  }
}

/** Never registered with @JobMiddleware. */
class UnregisteredMiddleware implements JobMiddlewareContract {
  async handle(job: Queueable, next: NextMiddleware) {
    return next(job);
  }
}

@Job({ name: 'MwPipelineJob' })
class MwPipelineJob extends Queueable {
  constructor(public label = 'p') {
    super();
  }
  middleware() {
    return [new Tracing('own-1'), new Tracing(`own-2:${this.label}`)];
  }
  async handle() {
    steps.push('handle');
  }
}

/** What middleware() returns is decided per test. */
let mwOwn: () => unknown = () => [];
let mwThrow: Error | undefined;
@Job({ name: 'MwConfigurableJob', tries: 3 })
class MwConfigurableJob extends Queueable {
  constructor(public label = 'c') {
    super();
  }
  middleware() {
    return mwOwn();
  }
  async handle() {
    steps.push(`handle:${this.label}`);
    if (mwThrow) throw mwThrow;
  }
  async failed(error: Error) {
    steps.push(`failed:${error.message}`);
  }
}

@Job({ name: 'MwOtherJob' })
class MwOtherJob extends Queueable {
  middleware() {
    return mwOwn();
  }
  async handle() {
    steps.push('handle:other');
  }
}

@Job({ name: 'MwSealedJob', encrypted: true })
class MwSealedJob extends Queueable {
  constructor(public secret = 's') {
    super();
  }
  async handle() {
    steps.push(`sealed:${this.secret}`);
  }
}

class GoneError extends Error {}
class AuthError extends Error {}

const info = (displayName: string, attempts = 1, uuid = 'uuid-1'): JobInfo => ({
  id: '1',
  uuid,
  queue: 'default',
  connection: 'test',
  attempts,
  displayName,
});

/** One attempt of `job`, as the worker runs it. */
function attempt(
  job: Queueable,
  options: {
    through?: JobMiddlewareContract<any>[];
    attempts?: number;
    uuid?: string;
    beforeHandle?: () => Promise<void>;
  } = {},
): Promise<AttemptOutcome> {
  return runAttempt(job, info(registeredJobOf(job).name, options.attempts, options.uuid), {
    timeout: 0,
    container,
    middleware: options.through,
    beforeHandle: options.beforeHandle,
  });
}

/** Encodes as dispatch does, through the JSON text a row stores, and parses it back. */
const roundTrip = (job: object, middleware?: object[], keyring?: Keyring): JobPayload =>
  parsePayload(JSON.stringify(encodePayload(job, registeredJobOf(job).options, { middleware, keyring })));

/** A queue driver that only records how jobs ended. */
function recordingDriver() {
  const ended: string[] = [];
  const driver = {
    connectionName: 'test',
    defaultQueue: 'default',
    async delete() {
      ended.push('delete');
      return true;
    },
    async release(_job: ReservedJob, delay: number) {
      ended.push(`release:${delay}`);
      return true;
    },
    async fail(_job: ReservedJob, record: FailedJobRecord) {
      ended.push(`fail:${record.exception.split('\n')[0]}`);
      return true;
    },
  } as unknown as WorkerQueue;
  return { driver, ended };
}

const nullFailer = { log: async () => undefined } as unknown as FailedJobStore;

function processor(driver: WorkerQueue) {
  return new JobProcessor({
    driver,
    failer: nullFailer,
    events: new EventBus(() => undefined),
    container,
    options: { tries: 1, backoff: 0, timeout: 0 },
    report: () => undefined,
  });
}

let rowId = 0;
const reserved = (payload: JobPayload | string, attempts = 1): ReservedJob => ({
  id: String(++rowId),
  queue: 'default',
  payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  attempts,
  exceptions: 0,
  reservedBy: 'lease',
});

const reported: unknown[] = [];
let store: MemoryRateLimitStore;

beforeAll(async () => {
  // The sync connection runs dispatches inline; no database is needed for these tests.
  await boot({
    default: 'sync',
    connections: { sync: { driver: 'sync' } },
    report: (error) => void reported.push(error),
  });
});
afterAll(() => shutdown());
beforeEach(() => {
  steps.length = 0;
  reported.length = 0;
  mwOwn = () => [];
  mwThrow = undefined;
  store = new MemoryRateLimitStore();
  swapRateLimitStore(store);
});
afterEach(() => swapRateLimitStore(undefined));

describe('the middleware pipeline', () => {
  it("runs the job's own middleware() first, then through()'s, around handle(), with beforeHandle innermost", async () => {
    const outcome = await attempt(new MwPipelineJob('x'), {
      through: [new Tracing('through-1'), new Tracing('through-2')],
      beforeHandle: async () => void steps.push('beforeHandle'),
    });
    expect(outcome).toEqual({ kind: 'completed', intent: undefined });
    expect(steps).toEqual([
      'own-1>',
      'own-2:x>',
      'through-1>',
      'through-2>',
      'beforeHandle',
      'handle',
      '<through-2',
      '<through-1',
      '<own-2:x',
      '<own-1',
    ]);
  });

  it('builds middleware() after prepare (models loaded), on the restored job', async () => {
    const job = new MwConfigurableJob('before');
    mwOwn = () => [new Tracing(`saw:${job.label}`)];
    await runAttempt(job, info('MwConfigurableJob'), {
      timeout: 0,
      container,
      prepare: async (j) => {
        (j as MwConfigurableJob).label = 'loaded';
        return true;
      },
    });
    expect(steps).toEqual(['saw:loaded>', 'handle:loaded', '<saw:loaded']);
  });

  it('a middleware that does not call next() stops the job: handle() and beforeHandle do not run, and the worker deletes it', async () => {
    const stopper = { handle: async () => void steps.push('stopped') };
    const outcome = await attempt(new MwPipelineJob(), {
      through: [stopper],
      beforeHandle: async () => void steps.push('beforeHandle'),
    });
    expect(outcome).toEqual({ kind: 'completed', intent: undefined });
    expect(steps).toEqual(['own-1>', 'own-2:p>', 'stopped', '<own-2:p', '<own-1']);

    mwOwn = () => [stopper];
    const { driver, ended } = recordingDriver();
    expect(await processor(driver).process(reserved(roundTrip(new MwConfigurableJob('kept-out'))))).toBe('deleted');
    expect(ended).toEqual(['delete']);
    expect(steps).not.toContain('handle:kept-out');
  });

  it("a middleware's release() and fail() decide the job's end", async () => {
    const { driver, ended } = recordingDriver();
    mwOwn = () => [{ handle: async (job: Queueable) => job.release(42) }];
    expect(await processor(driver).process(reserved(roundTrip(new MwConfigurableJob())))).toBe('released');
    mwOwn = () => [{ handle: async (job: Queueable) => job.fail('no entry') }];
    expect(await processor(driver).process(reserved(roundTrip(new MwConfigurableJob())))).toBe('failed');
    expect(ended).toEqual(['release:42', 'fail:ManuallyFailedError: no entry']);
    expect(steps).toEqual(['failed:no entry']);
  });

  it('refuses next() called twice, and a middleware() that returns no middleware fails the job at once', async () => {
    const twice = { handle: async (job: Queueable, next: NextMiddleware) => (await next(job), next(job)) };
    const outcome = await attempt(new MwOtherJob(), { through: [twice] });
    expect(outcome.kind).toBe('threw');
    expect((outcome as { error: Error }).error.message).toBe(
      'Job MwOtherJob: middleware Object called next() twice; a job runs once per attempt.',
    );
    expect(steps).toEqual(['handle:other']);

    mwOwn = () => [new Tracing('fine'), { nope: true }];
    const bad = await attempt(new MwOtherJob());
    expect(bad.kind).toBe('completed');
    const intent = (bad as { intent?: { kind: string; error?: Error } }).intent;
    expect(intent?.kind).toBe('fail');
    expect(intent?.error).toBeInstanceOf(ConfigError);
    expect(intent?.error?.message).toBe(
      'Job MwOtherJob: middleware()[1] is not job middleware (an object with a handle(job, next) method).',
    );
    mwOwn = () => new Tracing('not a list');
    const notList = await attempt(new MwOtherJob());
    expect((notList as { intent?: { error: Error } }).intent?.error.message).toBe(
      'Job MwOtherJob: middleware() must return an array of job middleware, got object.',
    );
  });

  it('a middleware written without async still works, and its synchronous throw is the attempt’s error', async () => {
    const plain = { handle: (job: Queueable, next: NextMiddleware) => next(job) };
    const thrower = {
      handle: () => {
        throw new Error('sync boom');
      },
    };
    expect((await attempt(new MwOtherJob(), { through: [plain as never] })).kind).toBe('completed');
    const outcome = await attempt(new MwOtherJob(), { through: [thrower as never] });
    expect(outcome.kind).toBe('threw');
    expect((outcome as { error: Error }).error.message).toBe('sync boom');
  });
});

describe('Skip', () => {
  it('when/unless with a value or a function of the job; a skipped job does not run and is deleted', async () => {
    const cases: Array<[Skip, boolean]> = [
      [Skip.when(true), false],
      [Skip.when(false), true],
      [Skip.unless(true), true],
      [Skip.unless(false), false],
      [Skip.when((job: MwConfigurableJob) => job.label === 'skip-me'), false],
      [Skip.when(async (job: MwConfigurableJob) => job.label === 'other'), true],
      [Skip.unless((job: MwConfigurableJob) => job.label === 'skip-me'), true],
    ];
    for (const [skip, runs] of cases) {
      steps.length = 0;
      const outcome = await attempt(new MwConfigurableJob('skip-me'), { through: [skip] });
      expect(outcome).toEqual({ kind: 'completed', intent: undefined });
      expect(steps).toEqual(runs ? ['handle:skip-me'] : []);
    }
  });
});

describe('FailOnException', () => {
  it('fails at once (no retry) on a listed error class or a predicate, and leaves other errors to the retry rules', async () => {
    const { driver, ended } = recordingDriver();
    mwOwn = () => [new FailOnException([AuthError])];
    mwThrow = new AuthError('token revoked');
    expect(await processor(driver).process(reserved(roundTrip(new MwConfigurableJob())))).toBe('failed');
    mwThrow = new Error('timeout talking to crm');
    expect(await processor(driver).process(reserved(roundTrip(new MwConfigurableJob())))).toBe('released');
    mwOwn = () => [
      new FailOnException((error: Error, job: MwConfigurableJob) => error.message.includes('crm') && job.label === 'c'),
    ];
    expect(await processor(driver).process(reserved(roundTrip(new MwConfigurableJob())))).toBe('failed');
    expect(ended).toEqual(['fail:Error: token revoked', 'release:0', 'fail:Error: timeout talking to crm']);
    // failed() sees the error (rethrown after failing); handle ran each time.
    expect(steps.filter((s) => s.startsWith('failed:'))).toEqual([
      'failed:token revoked',
      'failed:timeout talking to crm',
    ]);
    expect(() => new FailOnException(['nope'] as never)).toThrow(
      'FailOnException needs a list of error classes or a predicate',
    );
  });
});

describe('ThrottlesExceptions', () => {
  it('counts exceptions and releases after the backoff (seconds); at maxAttempts the circuit opens and jobs are released untried until the window ends', async () => {
    mwThrow = new Error('crm down');
    const throttle = () => new ThrottlesExceptions(2, 600).backoff(30);
    const first = await attempt(new MwConfigurableJob(), { through: [throttle()] });
    expect(first).toEqual({ kind: 'completed', intent: { kind: 'release', delay: 30 } });
    expect(await store.attempts('throttles-exceptions:MwConfigurableJob')).toBe(1);
    await attempt(new MwConfigurableJob(), { through: [throttle()] });
    expect(await store.attempts('throttles-exceptions:MwConfigurableJob')).toBe(2);
    expect(steps).toEqual(['handle:c', 'handle:c']);

    store.now += 100; // 500 s of the window left
    const open = await attempt(new MwConfigurableJob(), { through: [throttle()] });
    expect(open).toEqual({ kind: 'completed', intent: { kind: 'release', delay: 503 } });
    expect(steps).toHaveLength(2);

    store.now += 500; // the window ended: the circuit closes, a success clears the count
    mwThrow = undefined;
    expect(await attempt(new MwConfigurableJob(), { through: [throttle()] })).toEqual({
      kind: 'completed',
      intent: undefined,
    });
    expect(store.windows.size).toBe(0);
  });

  it('a success clears the count; the key is the job name, by(key) or byJob()', async () => {
    mwThrow = new Error('flaky');
    await attempt(new MwConfigurableJob(), { through: [new ThrottlesExceptions(5)] });
    await attempt(new MwConfigurableJob(), { through: [new ThrottlesExceptions(5).by('crm')] });
    await attempt(new MwConfigurableJob(), { through: [new ThrottlesExceptions(5).byJob()], uuid: 'job-a' });
    expect([...store.windows.keys()].sort()).toEqual([
      'throttles-exceptions:MwConfigurableJob',
      'throttles-exceptions:crm',
      'throttles-exceptions:job:job-a',
    ]);
    mwThrow = undefined;
    mwOwn = () => [new ThrottlesExceptions(5).by('crm')];
    await attempt(new MwOtherJob());
    expect([...store.windows.keys()].sort()).toEqual([
      'throttles-exceptions:MwConfigurableJob',
      'throttles-exceptions:job:job-a',
    ]);
  });

  it('when() rethrows what it does not accept; deleteWhen/failWhen take classes or predicates; report() reports', async () => {
    mwThrow = new GoneError('contact gone');
    const rethrown = await attempt(new MwConfigurableJob(), {
      through: [new ThrottlesExceptions().when((e) => !(e instanceof GoneError))],
    });
    expect(rethrown.kind).toBe('threw');
    expect(store.windows.size).toBe(0);

    const deleted = await attempt(new MwConfigurableJob(), {
      through: [new ThrottlesExceptions().deleteWhen(GoneError).report()],
    });
    expect(deleted).toEqual({ kind: 'completed', intent: { kind: 'delete' } });
    expect(reported).toEqual([mwThrow]);

    mwThrow = new Error('quota exceeded');
    const failed = await attempt(new MwConfigurableJob(), {
      through: [new ThrottlesExceptions().deleteWhen(GoneError).failWhen((e) => e.message.startsWith('quota'))],
    });
    expect(failed).toEqual({ kind: 'completed', intent: { kind: 'fail', error: mwThrow } });
    expect(store.windows.size).toBe(0);

    mwThrow = new Error('other');
    const counted = await attempt(new MwConfigurableJob(), {
      through: [new ThrottlesExceptions().report((e) => e.message === 'nope').backoff((attempts) => attempts * 10)],
      attempts: 3,
    });
    expect(counted).toEqual({ kind: 'completed', intent: { kind: 'release', delay: 30 } });
    expect(reported).toHaveLength(1);
  });

  it('checks its arguments, naming the option', () => {
    expect(() => new ThrottlesExceptions(0)).toThrow(
      'ThrottlesExceptions: maxAttempts must be a whole number from 1 to 2147483647, got 0.',
    );
    expect(() => new ThrottlesExceptions(2 ** 31)).toThrow(
      'ThrottlesExceptions: maxAttempts must be a whole number from 1 to 2147483647, got 2147483648.',
    );
    expect(() => new ThrottlesExceptions(3, 1.5)).toThrow(
      'ThrottlesExceptions: decaySeconds must be a whole number of seconds from 1 to 2147483647, got 1.5.',
    );
    expect(() => new ThrottlesExceptions(3, 1e12)).toThrow(
      'ThrottlesExceptions: decaySeconds must be a whole number of seconds from 1 to 2147483647, got 1000000000000.',
    );
    expect(() => new ThrottlesExceptions().backoff(-1)).toThrow(
      'ThrottlesExceptions.backoff() needs seconds or a function of the attempts: it must be a number of seconds from 0 to 2147483647, got -1.',
    );
    expect(() => new ThrottlesExceptions().backoff(1e12)).toThrow(
      'ThrottlesExceptions.backoff() needs seconds or a function of the attempts: it must be a number of seconds from 0 to 2147483647, got 1000000000000.',
    );
  });
});

describe('RateLimited', () => {
  afterEach(() => {
    for (const name of ['unit', 'unit-by', 'unit-two', 'unit-none', 'unit-bad']) RateLimiter.forget(name);
  });

  it('lets maxAttempts jobs through per window, then releases until the window ends plus 3 s (or releaseAfter), or deletes with dontRelease()', async () => {
    RateLimiter.for('unit', () => Limit.perMinute(2));
    const run = (middleware: RateLimited) => attempt(new MwConfigurableJob(), { through: [middleware] });
    expect(await run(new RateLimited('unit'))).toEqual({ kind: 'completed', intent: undefined });
    store.now += 20;
    expect(await run(new RateLimited('unit'))).toEqual({ kind: 'completed', intent: undefined });
    expect(await run(new RateLimited('unit'))).toEqual({ kind: 'completed', intent: { kind: 'release', delay: 43 } });
    expect(await run(new RateLimited('unit').releaseAfter(7))).toEqual({
      kind: 'completed',
      intent: { kind: 'release', delay: 7 },
    });
    expect(await run(new RateLimited('unit').dontRelease())).toEqual({ kind: 'completed', intent: { kind: 'delete' } });
    expect(steps).toEqual(['handle:c', 'handle:c']);
    store.now += 40;
    expect(await run(new RateLimited('unit'))).toEqual({ kind: 'completed', intent: undefined });
    expect(steps).toHaveLength(3);
    expect([...store.windows.keys()]).toEqual(['rate-limited:unit:60s:']);
  });

  it('asks the limiter with the job: by() keys, several limits, Limit.none()', async () => {
    RateLimiter.for('unit-by', (job: MwConfigurableJob) => Limit.perHour(1).by(job.label));
    RateLimiter.for('unit-two', () => [Limit.perSecond(5), Limit.perDay(1, 2)]);
    RateLimiter.for('unit-none', () => Limit.none());
    await attempt(new MwConfigurableJob('ann'), { through: [new RateLimited('unit-by')] });
    await attempt(new MwConfigurableJob('bob'), { through: [new RateLimited('unit-by')] });
    expect((await attempt(new MwConfigurableJob('ann'), { through: [new RateLimited('unit-by')] })).kind).toBe(
      'completed',
    );
    expect(steps).toEqual(['handle:ann', 'handle:bob']);
    await attempt(new MwConfigurableJob('two'), { through: [new RateLimited('unit-two')] });
    const second = await attempt(new MwConfigurableJob('two'), { through: [new RateLimited('unit-two')] });
    expect(second).toEqual({ kind: 'completed', intent: { kind: 'release', delay: 2 * 86400 + 3 } });
    for (let i = 0; i < 5; i++)
      await attempt(new MwConfigurableJob('free'), { through: [new RateLimited('unit-none')] });
    expect(steps.filter((s) => s === 'handle:free')).toHaveLength(5);
    expect([...store.windows.keys()].sort()).toEqual([
      'rate-limited:unit-by:3600s:ann',
      'rate-limited:unit-by:3600s:bob',
      'rate-limited:unit-two:172800s:',
      'rate-limited:unit-two:1s:',
    ]);
  });

  it('fails the job at once when the limiter is not defined, or returns something other than limits', async () => {
    const { driver, ended } = recordingDriver();
    mwOwn = () => [new RateLimited('nowhere')];
    expect(await processor(driver).process(reserved(roundTrip(new MwConfigurableJob())))).toBe('failed');
    expect(ended).toEqual([
      "fail:ConfigError: Rate limiter [nowhere] is not defined (job MwConfigurableJob): define it with RateLimiter.for('nowhere', …) in a module the worker loads.",
    ]);
    expect(steps).toEqual([
      'failed:' +
        "Rate limiter [nowhere] is not defined (job MwConfigurableJob): define it with RateLimiter.for('nowhere', …) in a module the worker loads.",
    ]);
    mwOwn = () => [];
    RateLimiter.for('unit-bad', () => ({ maxAttempts: 1 }) as never);
    const bad = await attempt(new MwConfigurableJob(), { through: [new RateLimited('unit-bad')] });
    expect((bad as { intent?: { error: Error } }).intent?.error.message).toBe(
      'Rate limiter [unit-bad] returned an Object at [0]; it must return Limit, Limit[] or Limit.none().',
    );
  });

  it('checks limits and names, naming what is wrong', () => {
    expect(Limit.perMinute(5, 2)).toMatchObject({ maxAttempts: 5, decaySeconds: 120, key: '' });
    expect(Limit.perMinutes(3, 10)).toMatchObject({ maxAttempts: 10, decaySeconds: 180 });
    expect(Limit.perHour(1).by(42).key).toBe('42');
    expect(Limit.none().unlimited).toBe(true);
    expect(() => Limit.perSecond(-1)).toThrow(
      "A Limit's maxAttempts (jobs per window) must be a whole number from 0 to 2147483647, got -1.",
    );
    expect(() => Limit.perSecond(2 ** 31)).toThrow(
      "A Limit's maxAttempts (jobs per window) must be a whole number from 0 to 2147483647, got 2147483648.",
    );
    expect(() => Limit.perSecond(1, 0.5)).toThrow(
      "A Limit's window (decaySeconds) must be a whole number of seconds from 1 to 2147483647, got 0.5.",
    );
    expect(() => Limit.perDay(1, 1e6)).toThrow(
      "A Limit's window (decaySeconds) must be a whole number of seconds from 1 to 2147483647, got 86400000000.",
    );
    expect(Limit.none().maxAttempts).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => new RateLimited('')).toThrow('RateLimited needs the name of a limiter');
    expect(() => new RateLimited('api').releaseAfter(Number.NaN)).toThrow(
      "RateLimited('api').releaseAfter(): the delay must be a number of seconds from 0 to 2147483647, got NaN.",
    );
    expect(() => new RateLimited('api').releaseAfter(1e12)).toThrow(
      "RateLimited('api').releaseAfter(): the delay must be a number of seconds from 0 to 2147483647, got 1000000000000.",
    );
    expect(() => RateLimiter.for('x', 'nope' as never)).toThrow("RateLimiter.for('x') needs a function of the job");
  });
});

describe('through(): middleware stored in the payload', () => {
  it('round-trips registered middleware with their data, rebuilt as their classes, and the payload stays valid against the schema', () => {
    const payload = roundTrip(new MwPipelineJob('rt'), [
      new RateLimited('api').releaseAfter(15),
      new StampMiddleware('blue', 2),
      new ThrottlesExceptions(3, 60).by('crm'),
      Skip.when(false),
    ]);
    expect(payload.middleware).toEqual([
      { name: 'errand:RateLimited', data: { limiterName: 'api', shouldRelease: true, releaseAfterSeconds: 15 } },
      { name: 'StampMiddleware', data: { stamp: 'blue', times: 2 } },
      { name: 'errand:ThrottlesExceptions', data: { maxAttempts: 3, decaySeconds: 60, key: 'crm' } },
      { name: 'errand:Skip', data: { condition: false, negated: false } },
    ]);
    const schema = JSON.parse(readFileSync(new URL('../../docs/payload.schema.json', import.meta.url), 'utf8'));
    const validate = new (Ajv2020 as unknown as typeof Ajv2020.default)({ strict: false }).compile(schema);
    expect(validate(payload)).toBe(true);
    expect(validate({ ...payload, middleware: [{ name: 'X' }] })).toBe(false);

    const [limited, stamp, throttle, skip] = decodeJob(payload).middleware;
    expect(limited).toBeInstanceOf(RateLimited);
    expect(limited).toMatchObject({ limiterName: 'api', releaseAfterSeconds: 15, shouldRelease: true });
    expect(stamp).toBeInstanceOf(StampMiddleware);
    expect(stamp).toMatchObject({ stamp: 'blue', times: 2 });
    expect(throttle).toBeInstanceOf(ThrottlesExceptions);
    expect(throttle).toMatchObject({ maxAttempts: 3, decaySeconds: 60, key: 'crm' });
    expect(skip).toBeInstanceOf(Skip);
    // No through(): no key at all, as before middleware existed.
    expect('middleware' in roundTrip(new MwPipelineJob())).toBe(false);
  });

  it('refuses at dispatch, naming the job and the middleware: functions, unregistered classes, FailOnException, non-middleware', () => {
    const refusal = (middleware: object[]) => {
      try {
        roundTrip(new MwOtherJob(), middleware);
      } catch (error) {
        expect(error).toBeInstanceOf(PayloadError);
        return (error as Error).message;
      }
      throw new Error('expected a refusal');
    };
    expect(refusal([new ClosureMiddleware()])).toBe(
      'Job MwOtherJob: middleware ClosureMiddleware cannot be queued: property check holds a function; only data can be queued (register behaviour by name and store the name). ' +
        "Middleware given to through() is stored in the payload; middleware holding functions belongs in the job's middleware() method, which is built on the worker.",
    );
    expect(refusal([new ThrottlesExceptions().when(() => true)])).toContain(
      'Job MwOtherJob: middleware errand:ThrottlesExceptions cannot be queued: property whenCallback holds a function',
    );
    expect(refusal([Skip.when(() => true)])).toContain(
      'Job MwOtherJob: middleware errand:Skip cannot be queued: property condition holds a function',
    );
    expect(refusal([new UnregisteredMiddleware()])).toBe(
      'Job MwOtherJob cannot be queued: middleware UnregisteredMiddleware given to through() is not registered. ' +
        "Decorate its class with @JobMiddleware() so a worker may rebuild it, or return it from the job's middleware() method.",
    );
    expect(refusal([new FailOnException([AuthError])])).toContain(
      'middleware FailOnException given to through() is not registered',
    );
    expect(refusal([{ nope: 1 }])).toBe(
      'Job MwOtherJob cannot be queued: through()[0] is not job middleware (an object with a handle(job, next) method).',
    );
  });

  it('refuses a payload naming unknown middleware: the job fails with the reason and none of its code runs, not even failed()', async () => {
    const payload = roundTrip(new MwConfigurableJob(), [new StampMiddleware('x')]);
    const tampered = { ...payload, middleware: [{ name: 'Nope', data: {} }] };
    expect(() => decodeJob(tampered)).toThrow(
      'Job MwConfigurableJob: its payload names unknown middleware [Nope] (middleware[0]): no class is registered under that name. Decorate it with @JobMiddleware() and import it from the bootstrap module the worker loads. Nothing was run.',
    );
    const { driver, ended } = recordingDriver();
    expect(await processor(driver).process(reserved(tampered))).toBe('failed');
    expect(ended).toEqual([
      expect.stringContaining('fail:PayloadError: Job MwConfigurableJob: its payload names unknown middleware [Nope]'),
    ]);
    expect(steps).toEqual([]);
    expect(() => parsePayload(JSON.stringify({ ...payload, middleware: { name: 'x' } }))).toThrow(
      'The payload of MwConfigurableJob has a middleware key that is not a list.',
    );
    expect(() =>
      parsePayload(JSON.stringify({ ...payload, middleware: [{ name: 'StampMiddleware', data: [] }] })),
    ).toThrow('The payload of MwConfigurableJob has a malformed middleware[0]: data must be an object.');
    const poisoned = JSON.stringify({ ...payload, middleware: [{ name: 'StampMiddleware', data: {} }] }).replace(
      '"data":{}',
      '"data":{"__proto__":{"x":1}}',
    );
    expect(() => parsePayload(poisoned)).toThrow(
      'The payload holds the forbidden key [__proto__] at payload.middleware[0].data.__proto__',
    );
  });

  it('runs on the sync connection too: dispatch(job).through([...]) runs the stored middleware inline', async () => {
    await dispatch(new MwPipelineJob('sync')).through([new StampMiddleware('inline', 3)]);
    expect(steps).toEqual(['own-1>', 'own-2:sync>', 'stamp:inlinex3', 'handle', '<own-2:sync', '<own-1']);
    steps.length = 0;
    await dispatch(new MwConfigurableJob('skipped')).through(Skip.when(true));
    expect(steps).toEqual([]);
    await expect(dispatch(new MwOtherJob()).through([new ClosureMiddleware()])).rejects.toThrow(
      'middleware ClosureMiddleware cannot be queued',
    );
  });

  it("seals an encrypted job's middleware with its data, and refuses middleware added to it in plaintext", () => {
    const keyring = new Keyring(parseKey(generateKey(), 'test key'), []);
    const payload = roundTrip(new MwSealedJob('k'), [new StampMiddleware('hidden')], keyring);
    expect('middleware' in payload).toBe(false);
    expect(JSON.stringify(payload)).not.toContain('hidden');
    expect(decodeJob(payload, keyring).middleware).toEqual([expect.objectContaining({ stamp: 'hidden' })]);
    const injected = { ...payload, middleware: [{ name: 'errand:Skip', data: { condition: true, negated: false } }] };
    expect(() => decodeJob(injected, keyring)).toThrow(
      'Job MwSealedJob is encrypted, but this payload holds middleware in plaintext: refused, nothing was run.',
    );
  });

  it('@JobMiddleware refuses a class without handle() and a second class under a taken name', () => {
    expect(() => JobMiddleware()(class NoHandle {})).toThrow(
      'Job middleware NoHandle has no handle(job, next) method.',
    );
    expect(() =>
      JobMiddleware({ name: 'StampMiddleware' })(
        class Another implements JobMiddlewareContract {
          async handle() {
            return undefined;
          }
        },
      ),
    ).toThrow(
      "Two job middleware classes are registered as [StampMiddleware]; give one a distinct name with @JobMiddleware({ name: '…' }).",
    );
  });
});

describe('rateLimits config', () => {
  it('defaults to the default database connection and table rate_limits, and names a bad option', () => {
    expect(resolveConfig(undefined, { env: {} }).rateLimits).toEqual({ connection: 'database', table: 'rate_limits' });
    expect(resolveConfig({ connections: { s: { driver: 'sync' } } }, { env: {} }).rateLimits).toBeUndefined();
    const two = {
      connections: { a: { driver: 'database' as const }, b: { driver: 'database' as const } },
      default: 'a',
      rateLimits: { connection: 'b', table: 'limits' },
    };
    expect(resolveConfig(two, { env: {} }).rateLimits).toEqual({ connection: 'b', table: 'limits' });
    expect(() => resolveConfig({ rateLimits: { table: 'rate limits' } }, { env: {} })).toThrow(
      'rateLimits.table: [rate limits] is not a valid table name.',
    );
    expect(() => resolveConfig({ rateLimits: { connection: 'nope' } }, { env: {} })).toThrow(
      'rateLimits.connection names [nope], which is not defined. Defined connections: database, sync, null.',
    );
    expect(() => resolveConfig({ rateLimits: { connection: 'sync' } }, { env: {} })).toThrow(
      'rateLimits.connection names [sync], a sync connection; rate limits need a database or redis queue connection.',
    );
    expect(() => resolveConfig({ rateLimits: 'x' as never }, { env: {} })).toThrow(
      '`rateLimits` must be an object { connection?, table? }, got "x".',
    );
  });
});

describe('make:job-middleware', () => {
  it('names files in kebab case and refuses bad names and existing files', async () => {
    expect(kebabCase('EnsureTokenIsValid')).toBe('ensure-token-is-valid');
    expect(kebabCase('HTTPLimit')).toBe('http-limit');
    expect(kebabCase('RateLimit2Api')).toBe('rate-limit2-api');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'errand-mw-'));
    const file = writeClass('make:job-middleware', dir, 'EnsureTokenIsValid', 'class {{ class }} {}', {});
    expect(readFileSync(file, 'utf8')).toBe('class EnsureTokenIsValid {}');
    expect(() => writeClass('make:job-middleware', dir, 'EnsureTokenIsValid', 'x', {})).toThrow(
      'already exists; pass --force to overwrite it.',
    );
    expect(readFileSync(writeClass('make:job-middleware', dir, 'EnsureTokenIsValid', 'y', {}, true), 'utf8')).toBe('y');
    expect(() => writeClass('make:job-middleware', dir, 'bad-name', 'x', {})).toThrow(
      'make:job-middleware: [bad-name] is not a class name',
    );
  });
});
