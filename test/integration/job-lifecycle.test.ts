import type { Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { dispatch } from '../../src/bus/dispatch.js';
import { Queue } from '../../src/bus/queue.js';
import { DatabaseQueue } from '../../src/drivers/database/database-queue.js';
import { dialect } from '../../src/drivers/database/dialect.js';
import { claimJobs } from '../../src/drivers/database/queries/claim-jobs.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import type { WorkerOptions } from '../../src/worker/worker-options.js';
import {
  AddToBufferJob,
  FailedHookInfoJob,
  FlakyJob,
  InjectedJob,
  MonthLongTimeoutJob,
  OwnBackoffJob,
  OwnDeadlineJob,
  OwnTriesJob,
  RaisingJob,
  SelfManagingJob,
  SlowJob,
  StrictConstructorJob,
  ThrowingFailedHookJob,
} from '../fixtures/jobs/fixture-jobs.js';
import { recorder } from '../fixtures/jobs/recorder.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const describeEachSql = databaseOnly('reads and edits jobs rows and calls the SQL claim query itself');
await describeEachSql('job lifecycle', (engine) => {
  let knex: Knex;
  let queue: DatabaseQueue;
  const reported: unknown[] = [];
  const work = (options: Partial<WorkerOptions> = {}) =>
    createWorker({ stopWhenEmpty: true, sleep: 0, ...options }).run();
  const failedRows = () => knex('failed_jobs').select('*').orderBy('id') as Promise<Array<Record<string, string>>>;
  const dbNow = async () => {
    const nowSql = {
      sqlite: "cast(strftime('%s','now') as integer)",
      mysql: 'unix_timestamp()',
      postgres: 'floor(extract(epoch from now()))',
    }[engine];
    const rows = (await knex.select(knex.raw(`${nowSql} as now`))) as Array<{ now: number | string }>;
    return Number(rows[0]!.now);
  };

  beforeAll(async () => {
    const connection = await freshDatabase(engine, 'lifecycle');
    await boot({
      default: 'database',
      connections: { database: connection, sync: { driver: 'sync' }, nothing: { driver: 'null' } },
      report: (error) => reported.push(error),
      maxPayloadSize: 4096,
    });
    await runMigrations();
    queue = databaseQueue((await runtime()).queues);
    knex = queue.knex;
  });
  afterAll(() => shutdown());
  beforeEach(async () => {
    recorder.reset();
    reported.length = 0;
    await knex('jobs').delete();
    await knex('failed_jobs').delete();
  });

  it('stores a dispatched job with the payload keys and runs it once', async () => {
    const id = await AddToBufferJob.dispatch('first');
    expect(typeof id).toBe('string');
    const [row] = await knex('jobs').where({ id });
    expect(row.queue).toBe('default');
    expect(Number(row.attempts)).toBe(0);
    const payload = JSON.parse(row.payload);
    expect(Object.keys(payload).sort()).toEqual(
      [
        'backoff',
        'createdAt',
        'data',
        'delay',
        'displayName',
        'failOnTimeout',
        'job',
        'maxExceptions',
        'maxTries',
        'retryUntil',
        'timeout',
        'uuid',
      ].sort(),
    );
    expect(payload.data).toEqual({ commandName: 'AddToBufferJob', command: { value: 'first' } });

    expect(await work()).toBe(0);
    expect(recorder.handled).toEqual(['first']);
    expect(recorder.attempts).toEqual([1]);
    expect(await knex('jobs').count({ n: '*' })).toEqual([{ n: expect.anything() }]);
    expect(await Queue.size()).toBe(0);
  });

  it('retries a throwing job up to its tries, then records it in failed_jobs once and calls failed()', async () => {
    const id = await RaisingJob.dispatch('r1');
    const payload = JSON.parse((await knex('jobs').where({ id }))[0].payload);
    await work();
    expect(recorder.attempts).toEqual([1, 2, 3]);
    expect(recorder.failed).toEqual([{ job: 'r1', message: 'raising r1 on attempt 3', name: 'Error' }]);
    const failed = await failedRows();
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ uuid: payload.uuid, connection: 'database', queue: 'default' });
    expect(failed[0]!.exception).toContain('raising r1 on attempt 3');
    expect(failed[0]!.exception).toContain('at RaisingJob.handle');
    expect(JSON.parse(failed[0]!.payload).uuid).toBe(payload.uuid);
    expect(await Queue.size()).toBe(0);
  });

  it('a job that succeeds on a later attempt runs to DONE without a failed record', async () => {
    await FlakyJob.dispatch('f', 3);
    await work();
    expect(recorder.attempts).toEqual([1, 2, 3]);
    expect(recorder.handled).toEqual(['f']);
    expect(await failedRows()).toHaveLength(0);
  });

  it('releases with the backoff for the attempt, keeping attempts, and runs it once due', async () => {
    const id = await FlakyJob.dispatch('b', 2).options({ backoff: [2, 30] });
    const before = await dbNow();
    await work();
    expect(recorder.attempts).toEqual([1]);
    const [row] = await knex('jobs').where({ id });
    expect(Number(row.attempts)).toBe(1);
    expect(row.reserved_at).toBeNull();
    expect(Number(row.available_at) - before).toBeGreaterThanOrEqual(2);
    expect(Number(row.exceptions)).toBe(1);
    await sleep(3100);
    await work();
    expect(recorder.handled).toEqual(['b']);
  });

  // Written straight into the row: what another producer, or an edit by hand, could leave there.
  const rewritePayload = async (id: string, change: Record<string, unknown>) => {
    const [row] = await knex('jobs').where({ id });
    await knex('jobs')
      .where({ id })
      .update({ payload: JSON.stringify({ ...JSON.parse(row.payload), ...change }) });
  };

  it('fails a job whose backoff the jobs table cannot add, with the reason, instead of leaving its row held', async () => {
    const id = (await RaisingJob.dispatch('huge-backoff'))!;
    await rewritePayload(id, { backoff: '100000000000000000000' });
    await work();
    expect(await knex('jobs').where({ id })).toEqual([]);
    const failed = await failedRows();
    expect(failed.map((row) => row.exception.split('\n')[0])).toEqual([
      expect.stringContaining('has a backoff step over 2147483647 seconds'),
    ]);
  });

  it('saturates the exception count at the column maximum instead of overflowing it on release', async () => {
    const id = (await RaisingJob.dispatch('many-exceptions'))!;
    await rewritePayload(id, { maxTries: 0, backoff: '3600' });
    // The most the exceptions column holds: int unsigned on MySQL/MariaDB, integer elsewhere.
    const columnMax = engine === 'mysql' ? 4294967295 : 2147483647;
    await knex('jobs').where({ id }).update({ exceptions: columnMax });
    await work();
    expect(recorder.attempts).toEqual([1]);
    const [row] = await knex('jobs').where({ id });
    expect(row.reserved_by).toBeNull();
    expect(Number(row.exceptions)).toBe(2147483647);
    expect(await failedRows()).toEqual([]);
    expect(reported).toEqual([]);
  });

  it('fails a job whose release the database refuses, with the reason, instead of leaving its row held until retryAfter', async () => {
    const id = await RaisingJob.dispatch('refused');
    const release = vi
      .spyOn(DatabaseQueue.prototype, 'release')
      .mockRejectedValueOnce(new Error('Out of range value for column available_at'));
    let calls: number;
    try {
      await work();
    } finally {
      calls = release.mock.calls.length;
      release.mockRestore();
    }
    expect(calls).toBe(1);
    expect(await knex('jobs').where({ id })).toEqual([]);
    const failed = await failedRows();
    expect(failed.map((row) => row.exception.split('\n')[0])).toEqual([
      expect.stringContaining(
        'RaisingJob could not be released for a retry (delay 0 s, exceptions 1); the database refused it: Out of range value for column available_at',
      ),
    ]);
    expect(recorder.failed.map((f) => f.job)).toEqual(['refused']);
  });

  it('maxExceptions fails a job after that many exceptions even with tries left', async () => {
    await RaisingJob.dispatch('mx').options({ tries: 10, maxExceptions: 2 });
    await work();
    expect(recorder.attempts).toEqual([1, 2]);
    expect(recorder.failed.map((f) => f.job)).toEqual(['mx']);
  });

  it('retryUntil replaces the tries check: a future one keeps retrying, a past one fails before running', async () => {
    await RaisingJob.dispatch('until').options({ tries: 1, retryUntil: 3600 });
    await work({ maxJobs: 3, stopWhenEmpty: true });
    expect(recorder.attempts).toEqual([1, 2, 3]);
    expect(await failedRows()).toHaveLength(0);
    await Queue.clear();

    recorder.reset();
    await RaisingJob.dispatch('past').options({ retryUntil: new Date(Date.now() - 5000) });
    await work();
    expect(recorder.attempts).toEqual([]);
    const [failed] = await failedRows();
    expect(failed!.exception).toContain('RaisingJob has been attempted too many times');
  });

  it('a tries property on the job (Laravel style, not in @Job) is honoured: attempted 3 times, then failed', async () => {
    const id = await OwnTriesJob.dispatch('t3');
    const payload = JSON.parse((await knex('jobs').where({ id }))[0].payload);
    expect(payload.maxTries).toBe(3);
    // The option travels in maxTries only, not also as job data.
    expect(payload.data.command).toEqual({ label: 't3' });
    await work();
    expect(recorder.attempts).toEqual([1, 2, 3]);
    const failed = await failedRows();
    expect(failed).toHaveLength(1);
    expect(failed[0]!.exception).toContain('own tries t3');
  });

  it('a backoff() method on the job sets the delay of the release after an exception', async () => {
    const id = await OwnBackoffJob.dispatch('bm', 40);
    const before = await dbNow();
    await work();
    expect(recorder.attempts).toEqual([1]);
    const [row] = await knex('jobs').where({ id });
    expect(Number(row.attempts)).toBe(1);
    expect(row.reserved_at).toBeNull();
    expect(Number(row.available_at) - before).toBeGreaterThanOrEqual(40);
    expect(JSON.parse(row.payload).backoff).toBe('40');
  });

  it('a retryUntil() method on the job is stored in the payload and replaces the tries check', async () => {
    const until = (await dbNow()) + 3600;
    const id = await OwnDeadlineJob.dispatch(until);
    const payload = JSON.parse((await knex('jobs').where({ id }))[0].payload);
    expect(payload.retryUntil).toBe(until);
    // tries: 1 on the class, but the deadline is in the future: it keeps being retried.
    await work({ maxJobs: 3 });
    expect(recorder.attempts).toEqual([1, 2, 3]);
    expect(await failedRows()).toHaveLength(0);
    await Queue.clear();
  });

  it('honours release(), delete() and fail() called from handle()', async () => {
    await SelfManagingJob.dispatch('release');
    await SelfManagingJob.dispatch('delete');
    await SelfManagingJob.dispatch('fail');
    await SelfManagingJob.dispatch('release-then-throw');
    await work();
    expect(recorder.handled.sort()).toEqual(['release', 'release-then-throw']);
    expect(recorder.failed).toEqual([{ job: 'fail', message: 'gave up on purpose', name: 'ManuallyFailedError' }]);
    const failed = await failedRows();
    expect(failed).toHaveLength(1);
    expect(failed[0]!.exception).toContain('gave up on purpose');
    expect(await Queue.size()).toBe(0);
  });

  it('fails unreadable rows with the reason and keeps working', async () => {
    const valid = (command: string) => ({
      uuid: '00000000-0000-4000-8000-000000000001',
      displayName: 'AddToBufferJob',
      job: 'errand:CallQueuedHandler@call',
      data: { commandName: 'AddToBufferJob', command: JSON.parse(command) as object },
    });
    // Each poison row, as written straight into the table, and the reason it must fail with.
    const poison: Array<[string, string]> = [
      ['{not json', 'The payload is not valid JSON'],
      ['[1, 2]', 'The payload is not a JSON object'],
      [
        JSON.stringify({
          ...valid('{}'),
          uuid: '00000000-0000-4000-8000-000000000002',
          displayName: 'NoSuchJob',
          data: { commandName: 'NoSuchJob', command: {} },
        }),
        'Unknown job [NoSuchJob]',
      ],
      [
        JSON.stringify({ ...valid('{}'), uuid: '00000000-0000-4000-8000-000000000003', maxTries: 'three' }),
        'has a non-numeric maxTries',
      ],
      [
        JSON.stringify({
          ...valid('{}'),
          uuid: '00000000-0000-4000-8000-000000000004',
          data: { commandName: 'AddToBufferJob', command: [] },
        }),
        'has no data.command object',
      ],
      [
        JSON.stringify({
          ...valid('{}'),
          uuid: '00000000-0000-4000-8000-000000000005',
          job: 'Illuminate\\Queue\\CallQueuedHandler@call',
        }),
        'errand only runs [errand:CallQueuedHandler@call]',
      ],
      [
        '{"uuid":"00000000-0000-4000-8000-000000000006","job":"errand:CallQueuedHandler@call","data":{"commandName":"AddToBufferJob","command":{"value":"x","__proto__":{"polluted":true}}}}',
        'forbidden key [__proto__] at payload.data.command.__proto__',
      ],
      [
        JSON.stringify(valid('{"value":"x","nested":{"constructor":{"prototype":{"polluted":true}}}}')).replace(
          '000000000001',
          '000000000007',
        ),
        'forbidden key [constructor] at payload.data.command.nested.constructor',
      ],
      [
        JSON.stringify({
          ...valid(JSON.stringify({ value: 'é'.repeat(2100) })),
          uuid: '00000000-0000-4000-8000-000000000008',
        }),
        'bytes, over maxPayloadSize (4096); it was not decoded',
      ],
      [
        JSON.stringify({
          ...valid('{}'),
          uuid: '00000000-0000-4000-8000-000000000009',
          data: {
            commandName: 'AddToBufferJob',
            command: {},
            models: { game: { class: 'Game', id: { $gt: 0 }, relations: [] } },
          },
        }),
        'malformed model identifier at data.models.game: id must be a key or a list of keys',
      ],
      [
        JSON.stringify({
          ...valid('{}'),
          uuid: '00000000-0000-4000-8000-000000000010',
          data: {
            commandName: 'AddToBufferJob',
            command: {},
            models: { game: { class: 'NoSuchModel', id: 1, relations: [], connection: null } },
          },
        }),
        'property game holds a [NoSuchModel] model, but no @Model class or resolver is registered under that name',
      ],
      [
        JSON.stringify({
          ...valid('{}'),
          uuid: '00000000-0000-4000-8000-000000000011',
          data: { commandName: 'AddToBufferJob', command: 'errand:v1:AAAA' },
        }),
        'its encrypted data could not be opened',
      ],
    ];
    for (const [payload] of poison) await queue.push({ queue: 'default', payload });
    await AddToBufferJob.dispatch('after-poison');
    await work();
    expect(recorder.handled).toEqual(['after-poison']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const failed = await failedRows();
    expect(failed.map((row) => row.exception.split('\n')[0])).toEqual(
      poison.map(([, reason]) => expect.stringContaining(reason)),
    );
    expect(failed[2]!.uuid).toBe('00000000-0000-4000-8000-000000000002');
  });

  it('refuses at dispatch a payload over maxPayloadSize, naming the job, and queues nothing', async () => {
    // 2,100 two-byte characters: under the limit counted in characters, over it in bytes.
    await expect(AddToBufferJob.dispatch('é'.repeat(2100))).rejects.toThrow(
      /^Job AddToBufferJob cannot be queued: its payload is \d+ bytes, over maxPayloadSize \(4096\)\.$/,
    );
    await expect(Queue.bulk([new AddToBufferJob('ok'), new AddToBufferJob('é'.repeat(2100))])).rejects.toThrow(
      /over maxPayloadSize/,
    );
    expect(await Queue.size()).toBe(0);
    await AddToBufferJob.dispatch('é'.repeat(1500));
    expect(await Queue.size()).toBe(1);
  });

  it('works queues in priority order', async () => {
    await AddToBufferJob.dispatch('low-1').onQueue('low');
    await AddToBufferJob.dispatch('high-1').onQueue('high');
    await AddToBufferJob.dispatch('low-2').onQueue('low');
    await AddToBufferJob.dispatch('high-2').onQueue('high');
    await work({ queues: ['high', 'low'] });
    expect(recorder.handled).toEqual(['high-1', 'high-2', 'low-1', 'low-2']);
  });

  it('does not run a delayed job before it is due', async () => {
    await AddToBufferJob.dispatch('later').delay(60);
    await AddToBufferJob.dispatch('at').delay(new Date(Date.now() + 60_000));
    await work();
    expect(recorder.handled).toEqual([]);
    expect(await Queue.size()).toBe(2);
  });

  it('claims a job again once its reservation is older than retryAfter; past its tries it fails as attempted too many times', async () => {
    const keep = await AddToBufferJob.dispatch('stale-ok').options({ tries: 2 });
    const drop = await AddToBufferJob.dispatch('stale-drop');
    const claimed = await queue.claim('default', 10, 'vanished-worker');
    expect(claimed.map((j) => j.id).sort()).toEqual([keep, drop].sort());
    expect(await queue.claim('default', 10, 'another')).toEqual([]);
    await knex('jobs').update({ reserved_at: knex.raw('reserved_at - 91') });
    await work();
    expect(recorder.handled).toEqual(['stale-ok']);
    expect(recorder.attempts).toEqual([2]);
    const [failed] = await failedRows();
    expect(failed!.exception).toContain('AddToBufferJob has been attempted too many times');
  });

  it('fences finishing writes on the lease token', async () => {
    await AddToBufferJob.dispatch('fenced');
    const [job] = await queue.claim('default', 1, 'lease-a');
    expect(job!.attempts).toBe(1);
    const stranger = { ...job!, reservedBy: 'lease-b' };
    expect(await queue.delete(stranger)).toBe(false);
    expect(await queue.release(stranger, 0, 0)).toBe(false);
    const failer = (await runtime()).queues.failer();
    expect(
      await queue.fail(
        stranger,
        { uuid: 'x', connection: 'database', queue: 'default', payload: job!.payload, exception: 'e' },
        failer,
      ),
    ).toBe(false);
    expect(await failedRows()).toHaveLength(0);
    expect(await Queue.size()).toBe(1);
    expect(await queue.delete(job!)).toBe(true);
    expect(await Queue.size()).toBe(0);
  });

  it('claims correctly on the plain-lock path older servers get', async () => {
    const ids = await Queue.bulk([new AddToBufferJob('p1'), new AddToBufferJob('p2'), new AddToBufferJob('p3')]);
    const info = { ...(await queue.server()), skipLocked: false };
    const input = { table: 'jobs', queue: 'default', limit: 2, leaseToken: 'plain', retryAfter: 90 };
    const first = await claimJobs(knex, info, input);
    const second = await claimJobs(knex, info, { ...input, leaseToken: 'plain-2' });
    expect(first.map((j) => j.id)).toEqual(ids.slice(0, 2));
    expect(second.map((j) => j.id)).toEqual(ids.slice(2));
    expect(second[0]!.reservedBy).toBe('plain-2');
    expect(await claimJobs(knex, info, input)).toEqual([]);
  });

  it('records a failure once however often it is logged', async () => {
    const failer = (await runtime()).queues.failer();
    const record = {
      uuid: '00000000-0000-4000-8000-0000000000aa',
      connection: 'database',
      queue: 'q',
      payload: '{}',
      exception: 'boom',
    };
    await failer.log(record);
    await failer.log({ ...record, exception: 'again' });
    expect(await failer.count()).toBe(1);
    expect((await failer.find(record.uuid))!.exception).toBe('boom');
    expect((await failer.find(record.uuid))!.failedAt).toBeInstanceOf(Date);
    // Another job with that uuid is not the same failure: it is kept, under a uuid of its own.
    await failer.log({ ...record, payload: '{"other":true}', exception: 'other' });
    expect(await failer.count()).toBe(2);
    const other = (await failer.all()).find((stored) => stored.exception === 'other')!;
    expect([other.uuid === record.uuid, other.payload]).toEqual([false, '{"other":true}']);
  });

  it('times a job out: its signal aborts and, with no tries left, it fails with TimeoutExceededError', async () => {
    await SlowJob.dispatch(2000);
    await work();
    expect(recorder.failed).toEqual([
      { job: 'slow', message: 'SlowJob has timed out (after 1s).', name: 'TimeoutExceededError' },
    ]);
    await sleep(1200);
    expect(recorder.aborted).toEqual(['TimeoutExceededError']);
  });

  it("runs a job whose timeout is past Node's timer limit (30 days) once, to completion", async () => {
    await MonthLongTimeoutJob.dispatch();
    expect(await work()).toBe(0);
    expect(recorder.handled).toEqual(['month']);
    expect(recorder.attempts).toEqual([1]);
    expect(await failedRows()).toEqual([]);
    expect(await Queue.size()).toBe(0);
  });

  it('resolves handle() parameters from the container and restores jobs without calling their constructor', async () => {
    await InjectedJob.dispatch('Ada');
    await StrictConstructorJob.dispatch({ items: [1, 2, 3] });
    await work();
    expect(recorder.handled).toEqual(['hello Ada', 'total 6']);
  });

  it('bulk-inserts many jobs in order and clears a queue', async () => {
    const ids = await Queue.bulk([new AddToBufferJob('a'), new AddToBufferJob('b'), new AddToBufferJob('c')]);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    const rows = await knex('jobs').select('id', 'payload').orderBy('id');
    expect(rows.map((r) => String(r.id))).toEqual(ids);
    expect(rows.map((r) => JSON.parse(r.payload).data.command.value)).toEqual(['a', 'b', 'c']);
    await work();
    expect(recorder.handled).toEqual(['a', 'b', 'c']);
    await Queue.bulk([new AddToBufferJob('x'), new AddToBufferJob('y')], { queue: 'other' });
    expect(await Queue.clear('other')).toBe(2);
  });

  it("bulk-inserts each job with its own options (a tries property, a backoff() method), the rest of the class's resolved once", async () => {
    const ids = await Queue.bulk([
      new AddToBufferJob('plain'),
      new OwnTriesJob('bt'),
      new OwnBackoffJob('bb', 12),
      new AddToBufferJob('plain2'),
    ]);
    const rows = await knex('jobs').select('id', 'payload').orderBy('id');
    expect(rows.map((r) => String(r.id))).toEqual(ids);
    const payloads = rows.map((r) => JSON.parse(r.payload));
    expect(payloads.map((p) => [p.maxTries, p.backoff])).toEqual([
      [null, null],
      [3, null],
      [2, '12'],
      [null, null],
    ]);
    expect(payloads[1].data.command).toEqual({ label: 'bt' });
    await Queue.clear();
  });

  it('inserts rows due now, after seconds and at an instant, one at a time and mixed across chunks, with ids in input order', async () => {
    const at = new Date((Math.floor(Date.now() / 1000) + 7200) * 1000);
    const delayOf = (i: number) => (i % 3 === 0 ? undefined : i % 3 === 1 ? 30 : at);
    const count = dialect.maxRowsPerInsert(queue.engine) + 2;
    const before = await dbNow();
    const single = [
      await queue.push({ queue: 'mixed', payload: '{"n":-3}' }),
      await queue.push({ queue: 'mixed', payload: '{"n":-2}', delay: 30 }),
      await queue.push({ queue: 'mixed', payload: '{"n":-1}', delay: at }),
    ];
    const ids = await queue.bulk(
      Array.from({ length: count }, (_, i) => ({ queue: 'mixed', payload: `{"n":${i}}`, delay: delayOf(i) })),
    );
    const after = await dbNow();
    const rows = (await knex('jobs')
      .select('id', 'queue', 'payload', 'attempts', 'reserved_at', 'reserved_by', 'available_at', 'created_at')
      .orderBy('id')) as Array<Record<string, unknown>>;
    expect(rows.map((row) => String(row.id))).toEqual([...single, ...ids]);
    rows.forEach((row, index) => {
      const n = (JSON.parse(row.payload as string) as { n: number }).n;
      expect(n).toBe(index - 3);
      expect([row.queue, Number(row.attempts), row.reserved_at, row.reserved_by]).toEqual(['mixed', 0, null, null]);
      const created = Number(row.created_at);
      expect(created).toBeGreaterThanOrEqual(before);
      expect(created).toBeLessThanOrEqual(after);
      const delay = delayOf(n < 0 ? n + 3 : n);
      const expected = delay === undefined ? created : delay instanceof Date ? delay.getTime() / 1000 : created + delay;
      expect(Number(row.available_at)).toBe(expected);
    });
  });

  it('dispatchSync runs inline through the payload round trip, calls failed() and throws, storing nothing', async () => {
    await AddToBufferJob.dispatchSync('inline');
    expect(recorder.handled).toEqual(['inline']);
    await expect(RaisingJob.dispatchSync('sync-bad')).rejects.toThrow('raising sync-bad on attempt 1');
    expect(recorder.failed.map((f) => f.job)).toEqual(['sync-bad']);
    expect(await failedRows()).toHaveLength(0);
    expect(await Queue.size()).toBe(0);
  });

  it('binds the failed attempt to failed(): this.job and this.attempts() describe it, release() there throws', async () => {
    const id = await FailedHookInfoJob.dispatch();
    const uuid = JSON.parse((await knex('jobs').where({ id }).first()).payload).uuid;
    await work();
    expect(recorder.notes).toEqual([
      `database/default attempt 2 attempts() 2 id ${id} uuid ${uuid}`,
      'FailedHookInfoJob.release() cannot be called in failed(): the job has already failed.',
    ]);
    expect(reported).toEqual([]);

    recorder.reset();
    await expect(FailedHookInfoJob.dispatchSync()).rejects.toThrow('hook info job broke');
    expect(recorder.notes[0]).toMatch(/^sync\/sync attempt 1 attempts\(\) 1 id (\S+) uuid \1$/);
  });

  it("on the sync connection an error from failed() is reported and the job's own error is thrown", async () => {
    await expect(ThrowingFailedHookJob.dispatchSync()).rejects.toThrow('the job broke');
    await expect(dispatch(new ThrowingFailedHookJob()).onConnection('sync')).rejects.toThrow('the job broke');
    expect(reported.map(String)).toEqual(['Error: the failed() hook broke', 'Error: the failed() hook broke']);
  });

  it('the sync connection runs at dispatch and the null connection discards', async () => {
    await dispatch(new AddToBufferJob('via-sync')).onConnection('sync');
    await AddToBufferJob.dispatch('dropped').onConnection('nothing');
    expect(recorder.handled).toEqual(['via-sync']);
    expect(await Queue.size()).toBe(0);
  });

  it('dispatchIf and dispatchUnless push only when they should', async () => {
    expect(await AddToBufferJob.dispatchIf(false, 'no')).toBeNull();
    expect(await AddToBufferJob.dispatchUnless(true, 'no')).toBeNull();
    expect(typeof (await AddToBufferJob.dispatchIf(() => true, 'yes'))).toBe('string');
    expect(await Queue.size()).toBe(1);
  });

  it('pushes a dispatch nobody awaits, and reports one that fails instead of losing it', async () => {
    AddToBufferJob.dispatch('fire-and-forget');
    AddToBufferJob.dispatch('lost').onConnection('nope');
    await sleep(200);
    expect(await Queue.size()).toBe(1);
    expect(reported).toHaveLength(1);
    expect(String(reported[0])).toContain(
      'Queue connection [nope] is not defined. Defined connections: database, sync, nothing.',
    );
    await expect(AddToBufferJob.dispatch('x').onConnection('nope')).rejects.toThrow('[nope]');
  });

  it('refuses a connection named after an Object.prototype member as not defined, storing nothing', async () => {
    for (const name of ['constructor', '__proto__', 'toString']) {
      const message = `Queue connection [${name}] is not defined. Defined connections: database, sync, nothing.`;
      await expect(AddToBufferJob.dispatch('x').onConnection(name)).rejects.toThrow(message);
      await expect(dispatch(new AddToBufferJob('y')).onConnection(name)).rejects.toThrow(message);
    }
    expect(await Queue.size()).toBe(0);
    expect(recorder.handled).toEqual([]);
  });
});

describe('dispatching an undecorated class', () => {
  it('rejects with an error naming the class', async () => {
    class Plain {}
    await expect(dispatch(new Plain())).rejects.toThrow('Job class Plain is not registered: decorate it with @Job().');
  });
});
