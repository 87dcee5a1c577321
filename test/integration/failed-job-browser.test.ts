// The dashboard's reads of failed_jobs: pages newest first from a cursor, filters by connection,
// queue, job name and exception text (alone and together), capped counts, the (connection, queue)
// pairs, and migration 0012's backfill of the job name from existing payloads.
import type { Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import { resolveConfig } from '../../src/config/resolve-config.js';
import type { FailedJobBrowser, FailedJobSearch, FailedJobStore } from '../../src/contracts/failed-job-store.js';
import { openFailedJobStore } from '../../src/drivers/connect.js';
import { DatabaseQueue } from '../../src/drivers/database/database-queue.js';
import { createFailedJobsTable } from '../../src/drivers/database/migrations/0002-create-failed-jobs-table.js';
import { exactFailedJobsIdentifiers } from '../../src/drivers/database/migrations/0010-exact-identifiers.js';
import { failedJobsJobColumn } from '../../src/drivers/database/migrations/0012-failed-jobs-job-column.js';
import { migrate } from '../../src/drivers/database/migrations/migrate.js';
import { TEXT_COUNT_WINDOW, TEXT_SEARCH_WINDOW } from '../../src/drivers/database/queries/browse-failed-jobs.js';
import { QueueManager } from '../../src/runtime/queue-manager.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';

const describeEachSql = databaseOnly('failed jobs live in a database table on every driver');

const payloadOf = (name: string, n: number) =>
  JSON.stringify({ uuid: `p-${name}-${n}`, displayName: name, job: 'x', data: { n } });

await describeEachSql('the failed job browser', (engine) => {
  let manager: QueueManager;
  let knex: Knex;
  let store: FailedJobStore;
  let browser: FailedJobBrowser;
  let logged = 0;

  /** Logs a failure; resolves to its uuid. */
  const log = async (connection: string, queue: string, name: string, exception = `Error: ${name} broke`) => {
    const uuid = `00000000-0000-4000-8000-${String(++logged).padStart(12, '0')}`;
    await store.log({ uuid, connection, queue, payload: payloadOf(name, logged), exception });
    return uuid;
  };

  /** Every uuid matching a search, page after page, and how many pages it took. */
  const walkAll = async (search: FailedJobSearch, limit: number) => {
    const uuids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await browser.page(search, limit, cursor);
      pages++;
      expect(page.jobs.length).toBeLessThanOrEqual(limit);
      uuids.push(...page.jobs.map((job) => job.uuid));
      if (page.next === null) return { uuids, pages };
      expect(pages).toBeLessThan(1000);
      cursor = page.next;
    }
  };

  beforeAll(async () => {
    const connection = await freshDatabase(engine, 'failed_browser');
    manager = new QueueManager(resolveConfig({ default: 'database', connections: { database: connection } }), () =>
      Promise.reject(new Error('The browser suite runs no jobs.')),
    );
    const queue = manager.worker() as DatabaseQueue;
    knex = queue.knex;
    await migrate(knex, { jobs: [queue.table], failed: 'failed_jobs' });
    store = manager.failer();
    browser = manager.failedJobBrowser();
  });

  beforeEach(async () => {
    logged = 0;
    await knex('failed_jobs').delete();
  });

  afterAll(async () => {
    await manager?.closeAll();
  });

  it('pages through every failure newest first, each once, and counts them', async () => {
    const uuids: string[] = [];
    for (let i = 0; i < 7; i++) uuids.push(await log('database', i % 2 ? 'a' : 'b', i % 3 ? 'ClassA' : 'ClassB'));
    expect(await walkAll({}, 3)).toEqual({ uuids: [...uuids].reverse(), pages: 3 });
    expect(await walkAll({}, 7)).toEqual({ uuids: [...uuids].reverse(), pages: 1 });
    const page = await browser.page({}, 2);
    expect(page.jobs[0]).toMatchObject({
      uuid: uuids[6],
      connection: 'database',
      queue: 'b',
      payload: payloadOf('ClassB', 7),
    });
    expect(page.jobs[0]!.failedAt).toBeInstanceOf(Date);
    expect(await browser.countUpTo({}, 100)).toEqual({ count: 7, capped: false });
    expect(await browser.countUpTo({}, 5)).toEqual({ count: 5, capped: true });
    expect(await browser.countUpTo({}, 7)).toEqual({ count: 7, capped: false });
  });

  it('filters by connection, queue and job name, alone and together, served page by page', async () => {
    const rows: Array<{ uuid: string; connection: string; queue: string; job: string }> = [];
    for (let i = 0; i < 24; i++) {
      const connection = i % 2 ? 'database' : 'other';
      const queue = ['q1', 'q2', 'q3'][i % 3]!;
      const job = i % 4 < 3 ? 'ClassA' : 'ClassB';
      rows.push({ uuid: await log(connection, queue, job), connection, queue, job });
    }
    const searches: FailedJobSearch[] = [
      { connection: 'database' },
      { queue: 'q2' },
      { job: 'ClassB' },
      { connection: 'other', queue: 'q1' },
      { queue: 'q3', job: 'ClassA' },
      { connection: 'database', queue: 'q2', job: 'ClassB' },
      { job: 'ClassC' },
      { queue: 'nowhere' },
    ];
    for (const search of searches) {
      const expected = rows
        .filter(
          (row) =>
            (search.connection === undefined || row.connection === search.connection) &&
            (search.queue === undefined || row.queue === search.queue) &&
            (search.job === undefined || row.job === search.job),
        )
        .map((row) => row.uuid)
        .reverse();
      expect((await walkAll(search, 2)).uuids, JSON.stringify(search)).toEqual(expected);
      expect(await browser.countUpTo(search, 100), JSON.stringify(search)).toEqual({
        count: expected.length,
        capped: false,
      });
      expect(await browser.countUpTo(search, 1), JSON.stringify(search)).toEqual({
        count: Math.min(expected.length, 1),
        capped: expected.length > 1,
      });
    }
    expect(await browser.queues()).toEqual([
      { connection: 'database', queue: 'q1' },
      { connection: 'database', queue: 'q2' },
      { connection: 'database', queue: 'q3' },
      { connection: 'other', queue: 'q1' },
      { connection: 'other', queue: 'q2' },
      { connection: 'other', queue: 'q3' },
    ]);
  });

  it('searches the exception text byte for byte, going on from a cursor past any number of other failures', async () => {
    const first = await log('database', 'default', 'ClassA', 'Error: disk full\n    at write');
    await log('database', 'default', 'ClassA', 'Error: DISK FULL');
    const filler = Array.from({ length: TEXT_SEARCH_WINDOW + 500 }, (_, n) => ({
      uuid: `10000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      connection: 'database',
      queue: 'default',
      payload: payloadOf('ClassB', n),
      exception: 'Error: timeout',
      job: 'ClassB',
    }));
    for (let i = 0; i < filler.length; i += 200) await knex('failed_jobs').insert(filler.slice(i, i + 200));
    const last = await log('database', 'other', 'ClassB', 'TypeError: disk full again');
    const found = await walkAll({ text: 'disk full' }, 10);
    expect(found.uuids).toEqual([last, first]);
    expect(found.pages).toBeGreaterThan(1);
    expect((await walkAll({ text: 'disk full', queue: 'default' }, 10)).uuids).toEqual([first]);
    expect((await walkAll({ text: 'disk full', job: 'ClassA' }, 10)).uuids).toEqual([first]);
    expect(await browser.countUpTo({ text: 'disk full', queue: 'default' }, 100)).toEqual({ count: 1, capped: false });
    expect(await browser.countUpTo({ text: 'timeout' }, 100)).toEqual({ count: 100, capped: true });
    expect(await browser.countUpTo({ text: 'timeout', job: 'ClassA' }, 100)).toEqual({ count: 0, capped: false });
    expect(await browser.countUpTo({ text: 'timeout', job: 'ClassB' }, 100_000)).toEqual({
      count: TEXT_SEARCH_WINDOW + 500,
      capped: false,
    });
    expect(await browser.countUpTo({ text: 'disk full' }, 100)).toEqual({ count: 2, capped: false });
    // Past the count's window of newest rows, the oldest match is not reached: "at least 1".
    const more = filler.slice(0, TEXT_COUNT_WINDOW - TEXT_SEARCH_WINDOW).map((row, n) => ({
      ...row,
      uuid: `20000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    }));
    for (let i = 0; i < more.length; i += 200) await knex('failed_jobs').insert(more.slice(i, i + 200));
    expect(await browser.countUpTo({ text: 'disk full' }, 100)).toEqual({ count: 1, capped: true });
  });

  it('refuses a cursor or limit it did not hand out', async () => {
    await expect(browser.page({}, 5, 'garbage')).rejects.toThrow(/garbage/);
    await expect(browser.page({}, 0)).rejects.toThrow(RangeError);
  });

  it('still records failures in a failed_jobs table without the job column (an application made it before 0012)', async () => {
    const table = 'failed_jobs_without_job';
    await knex.schema.dropTableIfExists(table);
    await createFailedJobsTable.up(knex, table);
    const own = openFailedJobStore(manager.worker(), table);
    await own.log({
      uuid: 'u-own',
      connection: 'database',
      queue: 'default',
      payload: payloadOf('Own', 1),
      exception: 'e',
    });
    expect((await own.find('u-own'))?.payload).toBe(payloadOf('Own', 1));
    await knex.schema.dropTable(table);
  });

  it("fills the job name of failures recorded before migration 0012 from their payloads ('' when none)", async () => {
    const table = 'failed_jobs_before_0012';
    await knex.schema.dropTableIfExists(table);
    await createFailedJobsTable.up(knex, table);
    await exactFailedJobsIdentifiers.up(knex, table);
    await knex(table).insert([
      { uuid: 'u1', connection: 'database', queue: 'default', payload: payloadOf('App.SendMail', 1), exception: 'e' },
      { uuid: 'u2', connection: 'database', queue: 'default', payload: 'not json {', exception: 'e' },
      { uuid: 'u3', connection: 'database', queue: 'default', payload: '{"job":"x"}', exception: 'e' },
      {
        uuid: 'u4',
        connection: 'database',
        queue: 'default',
        payload: '{"uuid": "u4", "displayName": "Spaced"}',
        exception: 'e',
      },
    ]);
    await failedJobsJobColumn.up(knex, table);
    const rows = (await knex(table).orderBy('uuid').select('uuid', 'job')) as Array<{ uuid: string; job: string }>;
    expect(rows).toEqual([
      { uuid: 'u1', job: 'App.SendMail' },
      { uuid: 'u2', job: '' },
      { uuid: 'u3', job: '' },
      { uuid: 'u4', job: 'Spaced' },
    ]);
    await failedJobsJobColumn.down(knex, table);
    expect(await knex.schema.hasColumn(table, 'job')).toBe(false);
    await knex.schema.dropTable(table);
  });
});
