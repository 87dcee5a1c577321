import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import { Job } from '../../src/decorators/job.js';
import { JobRetryRequested } from '../../src/events/job-retry-requested.js';
import { retryFailedJob } from '../../src/failed/retry-failed-job.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { events, runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { runCli } from '../helpers/run-cli.js';

const state = { healed: false };

/** Its twin in the CLI's bootstrap (retry-until-jobs.mjs, written below) has the same option. */
@Job({ name: 'RetryUntilJob', retryUntil: 120 })
class RetryUntilJob extends Queueable {
  async handle() {}
}

@Job({ name: 'FailedCommandsJob', tries: 1 })
class FailedCommandsJob extends Queueable {
  constructor(public n: number) {
    super();
  }

  async handle() {
    if (!state.healed) throw new Error(`boom ${this.n}\nsecond line of the message`);
  }
}

interface FailedRow {
  id: number | string;
  uuid: string;
  queue: string;
}

const describeEachSql = databaseOnly('reads and inserts jobs rows to check what the retry commands pushed');
await describeEachSql('failed-job and clear commands', (engine) => {
  let knex: Knex;
  let dir: string;
  const cli = (...args: string[]) => runCli(args, dir);
  const count = async (table: string, where: Record<string, string> = {}) =>
    Number(((await knex(table).where(where).count({ n: '*' })) as Array<{ n: number | string }>)[0]!.n);
  // Checks that never reach the database (argument errors, help, the TTY refusal) run on SQLite
  // only: every spawned CLI costs most of a second, and CI must stay fast.
  const once = engine === 'sqlite';
  const failedRows = async () => (await knex('failed_jobs').select('id', 'uuid', 'queue').orderBy('id')) as FailedRow[];
  /** Dispatches jobs that throw (tries 1) onto `queue` and works them: each becomes a failed_jobs row. */
  const fail = async (queue: string, ...ns: number[]) => {
    state.healed = false;
    for (const n of ns) await FailedCommandsJob.dispatch(n).onQueue(queue);
    await createWorker({ queues: [queue], stopWhenEmpty: true, sleep: 0 }).run();
  };
  /** Writes failed_jobs rows directly, much faster than failing real jobs, for the selection tests. */
  const insertFailed = async (queue: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const uuid = randomUUID();
      await knex('failed_jobs').insert({
        uuid,
        connection: 'database',
        queue,
        payload: JSON.stringify({ uuid, displayName: 'FailedCommandsJob' }),
        exception: 'Error: boom',
      });
    }
  };

  beforeAll(async () => {
    const connection = await freshDatabase(engine, 'failed_commands');
    dir = mkdtempSync(path.join(os.tmpdir(), 'errand-failed-cli-'));
    writeFileSync(
      path.join(dir, 'errand.config.mjs'),
      `export default ${JSON.stringify({ default: 'database', connections: { database: connection } })};\n`,
    );
    await boot({ default: 'database', connections: { database: connection } });
    await runMigrations();
    knex = databaseQueue((await runtime()).queues).knex;
  });
  afterAll(() => shutdown());
  beforeEach(async () => {
    await knex('failed_jobs').delete();
    await knex('jobs').delete();
  });

  it('queue:failed says so when empty, then lists the failed jobs as a table and as JSON', async () => {
    if (once) {
      const empty = await cli('queue:failed');
      expect(empty).toMatchObject({ code: 0, stderr: '' });
      expect(empty.stdout).toContain('No failed jobs.');
    }

    await fail('emails', 1, 2);
    const [first, second] = await failedRows();
    // The table's layout does not depend on the engine; the JSON's fields (the dates) do.
    const [table, json] = await Promise.all([once ? cli('queue:failed') : undefined, cli('queue:failed', '--json')]);
    if (table) {
      expect(table).toMatchObject({ code: 0, stderr: '' });
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/ID\s+UUID\s+Connection\s+Queue\s+Job\s+Failed at\s+Error/);
      // Newest first; one line per job with only the first line of the error.
      expect(lines).toHaveLength(4);
      expect(lines[2]).toMatch(
        new RegExp(
          `^\\s+${second!.id}\\s+${second!.uuid}\\s+database\\s+emails\\s+FailedCommandsJob\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\s+Error: boom 2$`,
        ),
      );
      expect(lines[3]).toContain(first!.uuid);
      expect(table.stdout).not.toContain('second line');
    }
    expect(json.code).toBe(0);
    const records = JSON.parse(json.stdout) as Array<Record<string, string>>;
    expect(records.map((r) => r.uuid)).toEqual([second!.uuid, first!.uuid]);
    expect(records[0]).toMatchObject({
      id: String(second!.id),
      connection: 'database',
      queue: 'emails',
      job: 'FailedCommandsJob',
    });
    expect(records[0]!.exception).toContain('second line of the message');
    // failed_at comes back from each engine as a real instant, within a minute of now.
    expect(Math.abs(Date.parse(records[0]!.failedAt!) - Date.now())).toBeLessThan(60_000);
  });

  it('queue:retry by id and by uuid pushes back with attempts reset and the uuid kept, and names an unknown id', async () => {
    await fail('emails', 1, 2, 3);
    const [a, b, c] = await failedRows();
    const [result, json] = await Promise.all([
      cli('queue:retry', String(a!.id), 'no-such-job'),
      cli('queue:retry', '--json', b!.uuid),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('No failed job has the id or uuid [no-such-job].');
    expect(result.stdout).toContain(`Retried ${a!.uuid} [${a!.id}] FailedCommandsJob → database:emails`);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect((await failedRows()).map((r) => r.uuid)).toEqual([c!.uuid]);

    const jobs = (await knex('jobs').select('id', 'queue', 'attempts', 'payload').orderBy('id')) as Array<{
      id: number | string;
      queue: string;
      attempts: number | string;
      payload: string;
    }>;
    const retriedB = jobs.find((j) => JSON.parse(j.payload).uuid === b!.uuid)!;
    expect(JSON.parse(json.stdout)).toEqual({
      id: String(b!.id),
      uuid: b!.uuid,
      job: 'FailedCommandsJob',
      connection: 'database',
      queue: 'emails',
      newId: String(retriedB.id),
    });
    expect(
      jobs
        .map((j) => [j.queue, Number(j.attempts), JSON.parse(j.payload).uuid])
        .sort((x, y) => String(x[2]).localeCompare(String(y[2]))),
    ).toEqual(
      [
        ['emails', 0, a!.uuid],
        ['emails', 0, b!.uuid],
      ].sort((x, y) => String(x[2]).localeCompare(String(y[2]))),
    );
    // The pushed-back jobs really run again.
    state.healed = true;
    await createWorker({ queues: ['emails'], stopWhenEmpty: true, sleep: 0 }).run();
    expect(await count('jobs')).toBe(0);
    expect(await count('failed_jobs')).toBe(1);
  });

  it('a retry gives retryUntil a fresh deadline (the class option when loaded, else the original window) and emits JobRetryRequested', async () => {
    const dist = path.resolve('dist/index.js');
    writeFileSync(
      path.join(dir, 'retry-until-jobs.mjs'),
      `import { appendFileSync } from 'node:fs';\nimport { Job, JobRetryRequested, Queueable, listen } from ${JSON.stringify(dist)};\n` +
        `Job({ name: 'RetryUntilJob', retryUntil: 120 })(class RetryUntilJob extends Queueable { async handle() {} });\n` +
        // A listener wired as an application wires it: it must hear the command's retries.
        `listen(JobRetryRequested, (event) => appendFileSync(${JSON.stringify(path.join(dir, 'heard.txt'))}, event.record.uuid + '\\n'));\n`,
    );
    writeFileSync(
      path.join(dir, 'retry.config.mjs'),
      `import base from './errand.config.mjs';\nexport default { ...base, bootstrap: ['./retry-until-jobs.mjs'] };\n`,
    );
    // Two failed records whose deadlines passed long ago: one of a class the bootstrap registers,
    // one of a class it does not (its window was 50 s).
    const now = Math.floor(Date.now() / 1000);
    await RetryUntilJob.dispatch();
    const [row] = (await knex('jobs').select('payload')) as Array<{ payload: string }>;
    await knex('jobs').delete();
    // Its stored window (100 s) differs from the option (120 s), so the two ways are told apart.
    const known = { ...JSON.parse(row!.payload), createdAt: now - 1000, retryUntil: now - 900 };
    const unknown = {
      ...known,
      uuid: randomUUID(),
      displayName: 'GoneJob',
      data: { ...known.data, commandName: 'GoneJob' },
      retryUntil: now - 950,
    };
    const plain = { ...known, uuid: randomUUID(), retryUntil: null };
    for (const payload of [known, unknown, plain]) {
      await knex('failed_jobs').insert({
        uuid: payload.uuid,
        connection: 'database',
        queue: 'default',
        payload: JSON.stringify(payload),
        exception: 'Error: boom',
      });
    }

    const result = await cli('queue:retry', '--config', path.join(dir, 'retry.config.mjs'), known.uuid, unknown.uuid);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const deadlines = new Map(
      ((await knex('jobs').select('payload')) as Array<{ payload: string }>).map((j) => [
        JSON.parse(j.payload).uuid,
        JSON.parse(j.payload).retryUntil as number,
      ]),
    );
    const after = Math.floor(Date.now() / 1000);
    expect(deadlines.get(known.uuid)).toBeGreaterThanOrEqual(now + 120);
    expect(deadlines.get(known.uuid)).toBeLessThanOrEqual(after + 120);
    expect(deadlines.get(unknown.uuid)).toBeGreaterThanOrEqual(now + 50);
    expect(deadlines.get(unknown.uuid)).toBeLessThanOrEqual(after + 50);
    expect(readFileSync(path.join(dir, 'heard.txt'), 'utf8').trim().split('\n').sort()).toEqual(
      [known.uuid, unknown.uuid].sort(),
    );

    // In-process, through the exported function: the event comes first, with the stored record,
    // and a payload without retryUntil goes back byte for byte.
    const seen: string[] = [];
    const off = events.on(JobRetryRequested, async (event) => {
      seen.push(
        `${event.record.uuid} ${(await knex('jobs').where('payload', 'like', `%${event.record.uuid}%`).count({ n: '*' }))[0]!.n}`,
      );
    });
    try {
      await retryFailedJob(await runtime(), plain.uuid);
    } finally {
      off();
    }
    expect(seen).toEqual([`${plain.uuid} 0`]);
    const [pushed] = (await knex('jobs').where('payload', 'like', `%${plain.uuid}%`).select('payload')) as Array<{
      payload: string;
    }>;
    expect(pushed!.payload).toBe(JSON.stringify(plain));
    expect(await count('failed_jobs')).toBe(0);
  });

  it('queue:retry --queue, --range and all select what they say', async () => {
    await insertFailed('a', 2);
    await insertFailed('b', 2);
    await insertFailed('c', 1);
    const [b1, b2] = (await failedRows()).filter((r) => r.queue === 'b');
    // Together in one run (to spare a process): c is left, so neither option selects too much.
    const some = await cli('queue:retry', '--queue=a', `--range=${b1!.id}-${b2!.id}`);
    expect(some).toMatchObject({ code: 0, stderr: '' });
    expect(some.stdout).toContain('Retried 4 failed jobs.');
    expect(await count('jobs', { queue: 'a' })).toBe(2);
    expect(await count('jobs', { queue: 'b' })).toBe(2);
    expect((await failedRows()).map((r) => r.queue)).toEqual(['c']);

    if (once) {
      // `all` reads through the same query as --queue (no filter), so once is enough; the
      // argument errors never reach the database and run alongside.
      const [all, none, badRange] = await Promise.all([
        cli('queue:retry', 'all'),
        cli('queue:retry'),
        cli('queue:retry', '--range=7-3'),
      ]);
      expect(all).toMatchObject({ code: 0, stderr: '' });
      expect(all.stdout).toContain('Retried');
      expect(await count('failed_jobs')).toBe(0);
      expect(await count('jobs')).toBe(5);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('Say which failed jobs to retry');
      expect(badRange.code).toBe(1);
      expect(badRange.stderr).toContain('--range must go from the lower id to the higher one, got "7-3".');
    }
  });

  it('queue:clear --queue and queue:retry --queue take exactly the queue named: not another case, accent or trailing space', async () => {
    const now = Math.floor(Date.now() / 1000);
    const near = ['news', 'NEWS', 'néws', 'news '];
    await knex('jobs').insert(
      near.map((queue) => ({ queue, payload: '{}', attempts: 0, available_at: now, created_at: now })),
    );
    await insertFailed('fq', 1);
    for (const queue of ['FQ', 'fq ', 'fé']) await insertFailed(queue, 1);
    const [cleared, retried] = await Promise.all([
      cli('queue:clear', 'database', '--queue=news', '--force'),
      cli('queue:retry', '--queue=fq'),
    ]);
    expect(cleared).toMatchObject({ code: 0, stderr: '' });
    expect(retried).toMatchObject({ code: 0, stderr: '' });
    const left = ((await knex('jobs').select('queue')) as Array<{ queue: string }>).map((row) => row.queue).sort();
    expect(left).toEqual(['NEWS', 'fq', 'news ', 'néws'].sort());
    expect((await failedRows()).map((row) => row.queue).sort()).toEqual(['FQ', 'fq ', 'fé'].sort());
  });

  it('never drops a failure whose uuid is taken: two jobs with one uuid, or uuids the database would store alike, leave two records', async () => {
    state.healed = false;
    const now = Math.floor(Date.now() / 1000);
    const payload = (uuid: string, n: number) =>
      JSON.stringify({
        uuid,
        displayName: 'FailedCommandsJob',
        job: 'errand:CallQueuedHandler@call',
        data: { commandName: 'FailedCommandsJob', command: { n } },
      });
    const shared = randomUUID();
    // Two lone surrogates: both drivers write each as U+FFFD, so the two uuids would be stored alike.
    const lone = ['\ud800', '\udfff'].map((s) => `${'0'.repeat(35)}${s}`);
    const rows = [payload(shared, 1), payload(shared, 2), payload(lone[0]!, 3), payload(lone[1]!, 4)];
    await knex('jobs').insert(
      rows.map((text) => ({ queue: 'same-uuid', payload: text, attempts: 0, available_at: now, created_at: now })),
    );
    await createWorker({ queues: ['same-uuid'], stopWhenEmpty: true, sleep: 0 }).run();
    expect(await count('jobs')).toBe(0);
    const failed = (await knex('failed_jobs').select('uuid', 'payload', 'exception').orderBy('id')) as Array<{
      uuid: string;
      payload: string;
      exception: string;
    }>;
    expect(failed).toHaveLength(4);
    expect(
      failed
        .filter((row) => JSON.parse(row.payload).uuid === shared)
        .map((row) => JSON.parse(row.payload).data.command.n)
        .sort(),
    ).toEqual([1, 2]);
    expect(new Set(failed.map((row) => row.uuid)).size).toBe(4);
    expect(failed.map((row) => row.uuid)).toContain(shared);
    // A malformed uuid fails the job undecoded, naming the fault; its record gets a uuid of its own.
    const refused = failed.filter((row) => row.exception.includes('is not a uuid: 8-4-4-4-12 hex digits'));
    expect(refused).toHaveLength(2);

    // The same job logged twice (a crash between recording and deleting) is stored once; a
    // different payload under its uuid is another job, kept.
    const failer = (await runtime()).queues.failer();
    const record = {
      uuid: randomUUID(),
      connection: 'database',
      queue: 'again',
      payload: '{"n":1}',
      exception: 'Error: once',
    };
    await failer.log(record);
    await failer.log({ ...record, exception: 'Error: logged again' });
    await failer.log({ ...record, payload: '{"n":2}', exception: 'Error: another job' });
    expect(
      (
        (await knex('failed_jobs').where({ queue: 'again' }).select('exception').orderBy('id')) as Array<{
          exception: string;
        }>
      ).map((row) => row.exception),
    ).toEqual(['Error: once', 'Error: another job']);
  });

  it('queue:forget, queue:prune-failed and queue:flush --hours delete what they say', async () => {
    await insertFailed('emails', 5);
    const [r1, r2, r3, r4, r5] = await failedRows();
    // r3 failed two days ago, r4 three hours ago, r5 just now (a literal every engine's timestamp
    // column reads as UTC here).
    const ago = (hours: number) => new Date(Date.now() - hours * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
    await knex('failed_jobs')
      .where({ id: r3!.id })
      .update({ failed_at: engine === 'postgres' ? `${ago(48)}+00` : ago(48) });
    await knex('failed_jobs')
      .where({ id: r4!.id })
      .update({ failed_at: engine === 'postgres' ? `${ago(3)}+00` : ago(3) });

    // Each touches different rows, so they run at once (a spawned CLI costs most of a second).
    const [byId, byUuid, pruned, unknown, bad] = await Promise.all([
      cli('queue:forget', String(r1!.id)),
      cli('queue:forget', r2!.uuid),
      cli('queue:prune-failed'),
      once ? cli('queue:forget', '999999') : undefined,
      once ? cli('queue:flush', '--hours=soon') : undefined,
    ]);
    expect(byId).toMatchObject({ code: 0, stderr: '' });
    expect(byId.stdout).toContain(`Failed job [${r1!.id}] deleted.`);
    expect(byUuid.stdout).toContain(`Failed job [${r2!.uuid}] deleted.`);
    expect(pruned).toMatchObject({ code: 0, stderr: '' });
    expect(pruned.stdout).toContain('1 failed job older than 24 hours pruned.');
    expect((await failedRows()).map((r) => r.uuid)).toEqual([r4!.uuid, r5!.uuid]);
    if (once) {
      expect(unknown!.code).toBe(1);
      expect(unknown!.stderr).toContain('No failed job has the id or uuid [999999].');
      expect(bad!.code).toBe(1);
      expect(bad!.stderr).toContain('--hours must be a number of hours from 0 to 596523, got "soon".');
      // queue:prune-failed is queue:flush with a required age, so the engines' SQL is proven above.
      const flushed = await cli('queue:flush', '--hours=2');
      expect(flushed.stdout).toContain('1 failed job older than 2 hours deleted.');
      expect(await count('failed_jobs')).toBe(1);
      const everything = await cli('queue:flush');
      expect(everything.stdout).toContain('1 failed job deleted.');
      expect(await count('failed_jobs')).toBe(0);
    }
  });

  it('queue:clear refuses without --force off a terminal, and with it clears only that queue', async () => {
    for (const n of [1, 2, 3]) await FailedCommandsJob.dispatch(n).onQueue('emails');
    await FailedCommandsJob.dispatch(4);
    if (once) {
      const refused = await cli('queue:clear', '--queue=emails');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        'Refusing to clear queue [database:emails] without confirmation: stdin is not a terminal. Pass --force to clear it.',
      );
      const empty = await cli('queue:clear', '--queue=', '--force');
      expect(empty.code).toBe(1);
      expect(empty.stderr).toContain('queue:clear: --queue is empty');
      expect(await count('jobs')).toBe(4);
    }

    const cleared = await cli('queue:clear', 'database', '--queue=emails', '--force');
    expect(cleared).toMatchObject({ code: 0, stderr: '' });
    expect(cleared.stdout).toContain('Cleared 3 jobs from queue [database:emails].');
    expect(await count('jobs')).toBe(1);
  });

  if (once) {
    it('each command explains itself with --help', async () => {
      const help = await cli('queue:retry', '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('--range <from-to>');
      expect(help.stdout).toContain('errand queue:retry all');
    });
  }
});
