import { readFileSync } from 'node:fs';

import Ajv2020 from 'ajv/dist/2020.js';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { uniqueKey, uniqueLockFor } from '../../src/bus/unique-lock.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { Job } from '../../src/decorators/job.js';
import { ConfigError } from '../../src/errors/config-error.js';
import { PayloadError } from '../../src/errors/payload-error.js';
import { releaseAtEnd, releaseBeforeHandle } from '../../src/execution/unique-release.js';
import { bindJobContext, JobContext } from '../../src/job/job-context.js';
import { jobRegistry } from '../../src/job/job-registry.js';
import { Queueable } from '../../src/job/queueable.js';
import { forgetLockStore, registerLockStore } from '../../src/locks/lock-stores.js';
import { MemoryLockStore } from '../../src/locks/memory-lock-store.js';
import { middlewareRegistry } from '../../src/middleware/middleware-registry.js';
import { OVERLAP_KEEPALIVE_TTL, WithoutOverlapping } from '../../src/middleware/without-overlapping.js';
import { parsePayload } from '../../src/payload/decode-payload.js';
import { effectiveOptions } from '../../src/payload/encode-payload.js';
import { uniqueOfRawPayload } from '../../src/payload/unique-payload.js';

@Job({
  name: 'unit.UniqueByOption',
  unique: true,
  uniqueId: (job: UniqueByOption) => `user-${job.userId}`,
  uniqueFor: 60,
  uniqueUntil: 'processing',
})
class UniqueByOption extends Queueable {
  constructor(public userId: number) {
    super();
  }
  uniqueId() {
    return `own-${this.userId}`;
  }
  handle() {}
}

@Job({ name: 'unit.UniqueByMethod', unique: true })
class UniqueByMethod extends Queueable {
  constructor(public orderId: number) {
    super();
  }
  uniqueId() {
    return this.orderId;
  }
  handle() {}
}

@Job({ name: 'unit.UniquePerClass', unique: true })
class UniquePerClass extends Queueable {
  handle() {}
}

@Job({ name: 'unit.UniqueByProperty', unique: true })
class UniqueByProperty extends Queueable {
  constructor(public uniqueId: string) {
    super();
  }
  handle() {}
}

@Job({ name: 'unit.UniqueForOwn', unique: true, uniqueFor: 5 })
class UniqueForOwn extends Queueable {
  uniqueFor = 30;
  handle() {}
}

@Job({ name: 'unit.NotUnique' })
class NotUnique extends Queueable {
  handle() {}
}

const specOf = (job: object, overrides = {}) => {
  const entry = jobRegistry.byClass(job.constructor)!;
  return uniqueLockFor(job, entry, effectiveOptions(entry, overrides, job));
};

describe('unique job options', () => {
  it.each([
    [{ unique: 'yes' }, 'Job Bad: option `unique` must be true or false.'],
    [
      { unique: true, uniqueFor: -1 },
      'Job Bad: option `uniqueFor` must be a whole number of seconds from 0 to 2147483647, got -1 (0: the lock never expires by itself).',
    ],
    [
      { unique: true, uniqueFor: 1.5 },
      'Job Bad: option `uniqueFor` must be a whole number of seconds from 0 to 2147483647',
    ],
    [
      { unique: true, uniqueFor: 1e12 },
      'Job Bad: option `uniqueFor` must be a whole number of seconds from 0 to 2147483647, got 1000000000000',
    ],
    [
      { unique: true, uniqueUntil: 'later' },
      "Job Bad: option `uniqueUntil` must be 'processing' or 'done', got \"later\".",
    ],
    [
      { unique: true, uniqueId: { id: 1 } },
      'Job Bad: option `uniqueId` must be a function of the job returning a string or number, or a fixed string or number.',
    ],
    [{ uniqueFor: 10 }, 'Job Bad: option `uniqueFor` does nothing without `unique: true`.'],
    [{ uniqueUntil: 'processing' }, 'Job Bad: option `uniqueUntil` does nothing without `unique: true`.'],
  ])('@Job refuses %j naming the job and the option', (options, message) => {
    expect(() =>
      Job({ name: 'Bad', ...(options as object) })(
        class Bad extends Queueable {
          handle() {}
        },
      ),
    ).toThrow(message);
    expect(jobRegistry.byName('Bad')).toBeUndefined();
  });

  it('accepts unique: false with the other options (explicitly off), and validates per-dispatch overrides', () => {
    expect(() =>
      Job({ name: 'unit.UniqueOff', unique: false, uniqueFor: 5 })(
        class UniqueOff extends Queueable {
          handle() {}
        },
      ),
    ).not.toThrow();
    const entry = jobRegistry.byClass(UniqueByMethod)!;
    expect(() => effectiveOptions(entry, { uniqueFor: -2 }, new UniqueByMethod(1))).toThrow(
      'Job unit.UniqueByMethod: option `uniqueFor` must be a whole number of seconds from 0 to 2147483647',
    );
    expect(() => effectiveOptions(entry, { uniqueUntil: 'never' as 'done' }, new UniqueByMethod(1))).toThrow(
      ConfigError,
    );
  });
});

describe('unique keys', () => {
  it('is errand:unique:{job name}:{unique id}', () => {
    expect(uniqueKey('billing.SendInvoice', 7)).toBe('errand:unique:billing.SendInvoice:7');
    expect(uniqueKey('A', '')).toBe('errand:unique:A:');
  });

  it("reads the id from the job's own uniqueId() method or property first, then the class option, else one per class", () => {
    // What the job says about itself wins over its class's @Job option, as for tries or backoff (decision 0044).
    expect(specOf(new UniqueByOption(3))).toEqual({
      key: 'errand:unique:unit.UniqueByOption:own-3',
      until: 'processing',
      ttl: 60,
    });
    expect(specOf(Object.assign(new UniqueByOption(4), { uniqueId: undefined }))).toEqual({
      key: 'errand:unique:unit.UniqueByOption:user-4',
      until: 'processing',
      ttl: 60,
    });
    expect(specOf(new UniqueByMethod(42))).toEqual({
      key: 'errand:unique:unit.UniqueByMethod:42',
      until: 'done',
      ttl: 0,
    });
    expect(specOf(new UniquePerClass())).toEqual({ key: 'errand:unique:unit.UniquePerClass:', until: 'done', ttl: 0 });
    expect(specOf(new UniqueByProperty('tenant-9'))?.key).toBe('errand:unique:unit.UniqueByProperty:tenant-9');
    expect(specOf(new NotUnique())).toBeUndefined();
  });

  it("takes the TTL from the job's own uniqueFor over the class option, and a per-dispatch one over both", () => {
    expect(specOf(new UniqueForOwn())?.ttl).toBe(30);
    expect(specOf(new UniqueForOwn(), { uniqueFor: 9 })?.ttl).toBe(9);
  });

  it('takes per-dispatch overrides: a fixed id, another TTL, or unique switched off', () => {
    expect(specOf(new UniqueByMethod(1), { uniqueId: 'fixed', uniqueFor: 9 })).toEqual({
      key: 'errand:unique:unit.UniqueByMethod:fixed',
      until: 'done',
      ttl: 9,
    });
    expect(specOf(new UniqueByMethod(1), { unique: false })).toBeUndefined();
    expect(specOf(new NotUnique(), { unique: true, uniqueId: (job: NotUnique) => job.constructor.name })).toMatchObject(
      { key: 'errand:unique:unit.NotUnique:NotUnique' },
    );
  });

  it('refuses an id that is not a string or number, naming the job', () => {
    expect(() => specOf(new UniqueByMethod(1), { uniqueId: () => ({}) as unknown as string })).toThrow(
      'Job unit.UniqueByMethod: the uniqueId option must give a string or a finite number, got object.',
    );
    const nan = new UniqueByMethod(Number.NaN);
    expect(() => specOf(nan)).toThrow(
      'Job unit.UniqueByMethod: uniqueId() must give a string or a finite number, got number.',
    );
    expect(() => specOf(new UniqueByProperty(null as unknown as string))).toThrow(
      'Job unit.UniqueByProperty: the uniqueId property must give a string or a finite number, got null.',
    );
    // A long id is fine: the lock store keeps what its table can hold.
    expect(specOf(new UniqueByMethod(1), { uniqueId: 'x'.repeat(300) })?.key).toHaveLength(334);
  });
});

describe('the unique payload key', () => {
  const base = {
    uuid: '00000000-0000-4000-8000-000000000001',
    displayName: 'J',
    job: 'errand:CallQueuedHandler@call',
    data: { commandName: 'J', command: {} },
  };

  it('is kept when well formed, absent when not given, and a malformed one is refused naming the job', () => {
    expect(
      parsePayload(JSON.stringify({ ...base, unique: { key: 'errand:unique:J:1', until: 'done' } })).unique,
    ).toEqual({ key: 'errand:unique:J:1', until: 'done' });
    expect('unique' in parsePayload(JSON.stringify(base))).toBe(false);
    for (const unique of [{ key: '', until: 'done' }, { key: 'k', until: 'soon' }, 'k', [1]]) {
      expect(() => parsePayload(JSON.stringify({ ...base, unique }))).toThrow(
        new PayloadError(
          "The payload of J has a malformed unique: it must be { key: a non-empty string without NUL, until: 'processing' | 'done' }.",
        ),
      );
    }
  });

  it('is described by the published JSON Schema', () => {
    const schema = JSON.parse(readFileSync(new URL('../../docs/payload.schema.json', import.meta.url), 'utf8'));
    const validate = new (Ajv2020 as unknown as typeof Ajv2020.default)({ strict: false }).compile(schema);
    expect(validate({ ...base, unique: { key: 'errand:unique:J:1', until: 'processing' } })).toBe(true);
    expect(validate({ ...base, unique: { key: 'errand:unique:J:1', until: 'later' } })).toBe(false);
    expect(validate({ ...base, unique: { until: 'done' } })).toBe(false);
  });

  it('is still read from text that fails to parse as a payload, so a refused job frees its lock', () => {
    expect(
      uniqueOfRawPayload(JSON.stringify({ uuid: 'u-2', maxTries: 'many', unique: { key: 'k', until: 'done' } })),
    ).toEqual({ uuid: 'u-2', unique: { key: 'k', until: 'done' } });
    expect(uniqueOfRawPayload('not json')).toBeUndefined();
    expect(uniqueOfRawPayload(JSON.stringify({ unique: { key: 'k', until: 'done' } }))).toBeUndefined();
  });
});

describe('releasing a unique lock on the worker', () => {
  const report = vi.fn();
  it('releases before handle only for until-processing, and then not again at the end', async () => {
    const store = new MemoryLockStore();
    const payload = { uuid: 'owner-1', unique: { key: 'k', until: 'processing' as const } };
    await store.acquire('k', 'owner-1', 0);
    const attempt = {};
    const before = releaseBeforeHandle(payload, attempt, { locks: () => store, report });
    expect(before).toBeTypeOf('function');
    await before!();
    expect(await store.isLocked('k')).toBe(false);
    // A newer dispatch took the key; the end of the first job must not touch it.
    await store.acquire('k', 'owner-2', 0);
    await releaseAtEnd(payload, '', attempt, { locks: () => store, report });
    expect(await store.owner('k')).toBe('owner-2');
    expect(
      releaseBeforeHandle({ uuid: 'x', unique: { key: 'k', until: 'done' } }, {}, { locks: () => store, report }),
    ).toBeUndefined();
  });

  it('never releases a lock another owner holds, and reports a store that fails instead of throwing', async () => {
    const store = new MemoryLockStore();
    await store.acquire('k', 'someone-else', 0);
    await releaseAtEnd({ uuid: 'me', unique: { key: 'k', until: 'done' } }, '', {}, { locks: () => store, report });
    expect(await store.owner('k')).toBe('someone-else');
    const broken = { ...store, release: () => Promise.reject(new Error('store down')) } as unknown as MemoryLockStore;
    await releaseAtEnd({ uuid: 'me', unique: { key: 'k', until: 'done' } }, '', {}, { locks: () => broken, report });
    expect(report).toHaveBeenCalledWith(new Error('store down'));
  });
});

describe('locks config', () => {
  it('defaults to the default connection (else the first database one) and table locks', () => {
    expect(resolveConfig(undefined, { env: {} }).locks).toEqual({ connection: 'database', table: 'locks' });
    const onSecond = resolveConfig(
      { default: 's', connections: { s: { driver: 'sync' }, db: { driver: 'database' } } },
      { env: {} },
    );
    expect(onSecond.locks).toEqual({ connection: 'db', table: 'locks' });
    expect(resolveConfig({ connections: { s: { driver: 'sync' } } }, { env: {} }).locks).toBeUndefined();
    const named = resolveConfig(
      {
        connections: { a: { driver: 'database' }, b: { driver: 'database' } },
        locks: { connection: 'b', table: 'app_locks' },
      },
      { env: {} },
    );
    expect(named.locks).toEqual({ connection: 'b', table: 'app_locks' });
  });

  it.each([
    [{ locks: 'db' }, '`locks` must be an object { connection?, table? }, got "db".'],
    [{ locks: { table: 'locks; drop' } }, 'locks.table: [locks; drop] is not a valid table name.'],
    [
      { locks: { connection: 'redis' } },
      'locks.connection names [redis], which is not defined. Defined connections: database, sync.',
    ],
    [
      { locks: { connection: 'sync' } },
      'locks.connection names [sync], a sync connection; locks need a database or redis queue connection.',
    ],
  ])('rejects %j naming the option', (extra, message) => {
    const config = {
      connections: { database: { driver: 'database' as const }, sync: { driver: 'sync' as const } },
      ...extra,
    };
    expect(() => resolveConfig(config as never, { env: {} })).toThrow(message);
  });
});

describe('MemoryLockStore', () => {
  it('lets one owner hold a key until it releases or the lock expires', async () => {
    let now = 1_000_000;
    const store = new MemoryLockStore(() => now);
    expect(await store.acquire('k', 'a', 10)).toBe(true);
    expect(await store.acquire('k', 'b', 10)).toBe(false);
    expect(await store.acquire('k', 'a', 10)).toBe(false);
    expect(await store.release('k', 'b')).toBe(false);
    expect(await store.owner('k')).toBe('a');
    now += 10_001;
    expect(await store.isLocked('k')).toBe(false);
    expect(await store.refresh('k', 'b', 5)).toBe(false);
    expect(await store.acquire('k', 'b', 0)).toBe(true);
    now += 10 ** 9;
    expect(await store.owner('k')).toBe('b');
    await store.forceRelease('k');
    expect(await store.isLocked('k')).toBe(false);
  });
});

describe('WithoutOverlapping', () => {
  @Job({ name: 'unit.Overlapping' })
  class Overlapping extends Queueable {
    handle() {}
  }
  const store = new MemoryLockStore();
  const attempt = (uuid: string, attempts = 1) => {
    const job = new Overlapping();
    const controller = new AbortController();
    const context = new JobContext(
      { id: '1', uuid, queue: 'default', connection: 'c', attempts, displayName: 'unit.Overlapping' },
      controller.signal,
    );
    bindJobContext(job, context);
    return { job, context, controller };
  };
  afterEach(() => {
    forgetLockStore();
    vi.useRealTimers();
  });

  it('builds errand:overlap:{job name}:{key}, or errand:overlap:{key} when shared', () => {
    expect(new WithoutOverlapping(7).lockKey(new Overlapping())).toBe('errand:overlap:unit.Overlapping:7');
    expect(new WithoutOverlapping().lockKey(new Overlapping())).toBe('errand:overlap:unit.Overlapping:');
    expect(new WithoutOverlapping('feeds').shared().lockKey(new Overlapping())).toBe('errand:overlap:feeds');
  });

  it('refuses bad settings naming the middleware and the method', () => {
    expect(() => new WithoutOverlapping({} as unknown as string)).toThrow(
      'WithoutOverlapping needs a string or number key, got object.',
    );
    expect(() => new WithoutOverlapping('k').releaseAfter(-1)).toThrow(
      'WithoutOverlapping("k").releaseAfter(): the delay must be a number of seconds from 0 to 2147483647, got -1.',
    );
    expect(() => new WithoutOverlapping('k').releaseAfter(1e12)).toThrow(
      'WithoutOverlapping("k").releaseAfter(): the delay must be a number of seconds from 0 to 2147483647, got 1000000000000.',
    );
    expect(() => new WithoutOverlapping('k').expireAfter(0)).toThrow(
      'WithoutOverlapping("k").expireAfter(): the lock\'s lifetime must be a whole number of seconds from 1 to 2147483647, got 0.',
    );
    expect(() => new WithoutOverlapping('k').expireAfter(2 ** 31)).toThrow(
      'WithoutOverlapping("k").expireAfter(): the lock\'s lifetime must be a whole number of seconds from 1 to 2147483647, got 2147483648.',
    );
  });

  it('is registered for through() under errand:WithoutOverlapping', () => {
    expect(middlewareRegistry.byName('errand:WithoutOverlapping')?.target).toBe(WithoutOverlapping);
  });

  it('runs the job holding the lock (owned by the attempt) and releases it after, even when handle() throws', async () => {
    registerLockStore(store);
    const { job } = attempt('uuid-1', 2);
    const seen: Array<string | null> = [];
    await new WithoutOverlapping('k').handle(
      job,
      async () => void seen.push(await store.owner('errand:overlap:unit.Overlapping:k')),
    );
    expect(seen).toEqual(['uuid-1:2']);
    expect(await store.isLocked('errand:overlap:unit.Overlapping:k')).toBe(false);
    await expect(new WithoutOverlapping('k').handle(job, () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    expect(await store.isLocked('errand:overlap:unit.Overlapping:k')).toBe(false);
  });

  it('releases a job that finds the lock held (after releaseAfter), or with dontRelease() lets it be deleted, without running it', async () => {
    registerLockStore(store);
    await store.acquire('errand:overlap:unit.Overlapping:busy', 'another-attempt', 0);
    const next = vi.fn(async () => undefined);
    const released = attempt('uuid-2');
    await new WithoutOverlapping('busy').releaseAfter(15).handle(released.job, next);
    expect(released.context.intent).toEqual({ kind: 'release', delay: 15 });
    const dropped = attempt('uuid-3');
    await new WithoutOverlapping('busy').dontRelease().handle(dropped.job, next);
    // No intent: the attempt ends as done, so the worker deletes the job.
    expect(dropped.context.intent).toBeUndefined();
    expect(next).not.toHaveBeenCalled();
    expect(await store.owner('errand:overlap:unit.Overlapping:busy')).toBe('another-attempt');
  });

  it('keeps the lock alive while the job runs when no expireAfter is set, and holds it for exactly expireAfter otherwise', async () => {
    vi.useFakeTimers({ now: 0 });
    const clocked = new MemoryLockStore(() => Date.now());
    registerLockStore(clocked);
    let finish!: () => void;
    const running = new WithoutOverlapping('long').handle(
      attempt('uuid-4').job,
      () => new Promise<void>((resolve) => (finish = resolve)),
    );
    await vi.advanceTimersByTimeAsync(OVERLAP_KEEPALIVE_TTL * 1000 * 4);
    expect(await clocked.owner('errand:overlap:unit.Overlapping:long')).toBe('uuid-4:1');
    finish();
    await running;
    expect(await clocked.isLocked('errand:overlap:unit.Overlapping:long')).toBe(false);

    const fixed = new WithoutOverlapping('fixed')
      .expireAfter(5)
      .handle(attempt('uuid-5').job, () => new Promise<void>((resolve) => (finish = resolve)));
    await vi.advanceTimersByTimeAsync(4000);
    expect(await clocked.owner('errand:overlap:unit.Overlapping:fixed')).toBe('uuid-5:1');
    await vi.advanceTimersByTimeAsync(2000);
    expect(await clocked.isLocked('errand:overlap:unit.Overlapping:fixed')).toBe(false);
    finish();
    await fixed;
  });

  it('stops keeping the lock alive once the attempt is aborted (timeout), so an abandoned handler frees it within the TTL', async () => {
    vi.useFakeTimers({ now: 0 });
    const clocked = new MemoryLockStore(() => Date.now());
    registerLockStore(clocked);
    const { job, controller } = attempt('uuid-6');
    // A handler that never settles, as an abandoned one may not.
    void new WithoutOverlapping('abandoned').handle(job, () => new Promise<void>(() => undefined));
    await vi.advanceTimersByTimeAsync(1000);
    controller.abort(new Error('timed out'));
    await vi.advanceTimersByTimeAsync(OVERLAP_KEEPALIVE_TTL * 1000 - 2000);
    expect(await clocked.owner('errand:overlap:unit.Overlapping:abandoned')).toBe('uuid-6:1');
    await vi.advanceTimersByTimeAsync(2000);
    expect(await clocked.isLocked('errand:overlap:unit.Overlapping:abandoned')).toBe(false);
  });

  it('is rebuilt from a through() payload with its settings', async () => {
    const { encodeMiddleware, restoreMiddleware } = await import('../../src/payload/middleware-data.js');
    const stored = encodeMiddleware('unit.Overlapping', [
      new WithoutOverlapping(3).releaseAfter(4).expireAfter(60).shared().dontRelease(),
    ]);
    const [rebuilt] = restoreMiddleware(JSON.parse(JSON.stringify(stored)), 'unit.Overlapping') as WithoutOverlapping[];
    expect(rebuilt).toBeInstanceOf(WithoutOverlapping);
    expect({ ...rebuilt }).toEqual({
      key: 3,
      releaseAfterSeconds: 4,
      expiresAfterSeconds: 60,
      shouldRelease: false,
      shareKey: true,
    });
  });
});
