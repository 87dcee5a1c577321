import { afterAll, beforeAll, expect, it } from 'vitest';

import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import { Job } from '../../src/decorators/job.js';
import { Queueable } from '../../src/job/queueable.js';
import { shutdown } from '../../src/runtime/boot.js';
import { describeOnRedis, dropRedisKeys, REDIS_TEST_URL, redisTestPrefix } from '../helpers/databases.js';
import { type RedisCliApp, writeRedisCliApp } from '../helpers/redis-cli-app.js';
import { runCli } from '../helpers/run-cli.js';

// The dispatching side of the jobs that jobs.mjs (written below) defines for the CLI's worker:
// the payload names the job, and the worker resolves the name to its own class.
@Job({ name: 'Note' })
class Note extends Queueable {
  constructor(public text: string) {
    super();
  }
  async handle() {}
}

@Job({ name: 'Broken', tries: 2 })
class Broken extends Queueable {
  async handle() {}
}

await describeOnRedis('the errand command on a redis connection, failed jobs in SQLite', () => {
  const prefix = redisTestPrefix('redis-cli');
  let dir: string;
  let queue: WorkerQueue;
  const cli = (...args: string[]) => runCli(args, dir);
  const notes = () => app.notes();
  let app: RedisCliApp;

  beforeAll(async () => {
    app = await writeRedisCliApp('redis-cli', { driver: 'redis', url: REDIS_TEST_URL, prefix, blockFor: 1 }, 2);
    ({ dir, queue } = app);
  });

  afterAll(async () => {
    try {
      await shutdown();
    } finally {
      // Everything under the file's prefix: the queues, and the connection-wide keys (controls, ids, paused).
      await dropRedisKeys(prefix);
    }
  });

  it('migrates the database beside it, then queue:work runs the jobs and fails the broken one into failed_jobs', async () => {
    const migrated = await cli('migrate');
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain('(failed_jobs) DONE');

    await Note.dispatch('first');
    await Broken.dispatch();
    await Note.dispatch('second');
    await Note.dispatch('later').onQueue('emails');

    const worked = await cli('queue:work', '--queue=default,emails', '--stop-when-empty', '--sleep=0', '--backoff=0');
    expect(worked.code, worked.stderr).toBe(0);
    expect(notes().sort()).toEqual(['first', 'later', 'second']);
    expect(worked.stdout).toMatch(/Broken .*FAIL/);
    expect(await queue.size('default')).toBe(0);

    const failed = await cli('queue:failed', '--json');
    expect(failed.code, failed.stderr).toBe(0);
    const records = JSON.parse(failed.stdout) as Array<Record<string, string>>;
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ connection: 'redis', queue: 'default', job: 'Broken' });
    expect(records[0]!.exception).toContain('broken on purpose');
  });

  it('queue:monitor counts a redis queue; queue:clear empties it', async () => {
    await Note.dispatch('a');
    await Note.dispatch('b');
    await Note.dispatch('c').delay(3600);
    const monitored = await cli('queue:monitor', 'redis:default', '--json');
    expect(monitored.code, monitored.stderr).toBe(0);
    expect(JSON.parse(monitored.stdout.trim())).toMatchObject({
      connection: 'redis',
      queue: 'default',
      size: 3,
      pending: 2,
      delayed: 1,
      reserved: 0,
    });
    const cleared = await cli('queue:clear', 'redis', '--queue=default', '--force');
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toContain('3');
    expect(await queue.size('default')).toBe(0);
  });

  it('queue:pause and queue:resume switch a redis queue for every worker; queue:restart moves the restart counter', async () => {
    const paused = await cli('queue:pause', 'redis:emails');
    expect(paused.stdout).toContain('Queue [redis:emails] paused.');
    expect((await queue.controls()).paused).toEqual(['emails']);

    await Note.dispatch('held back').onQueue('emails');
    const worked = await cli('queue:work', '--queue=emails', '--stop-when-empty', '--sleep=0');
    expect(worked.code, worked.stderr).toBe(0);
    expect(notes()).not.toContain('held back');
    expect(await queue.size('emails')).toBe(1);

    const resumed = await cli('queue:resume', 'redis:emails');
    expect(resumed.stdout).toContain('Queue [redis:emails] resumed.');
    expect((await queue.controls()).paused).toEqual([]);
    expect((await cli('queue:work', '--queue=emails', '--stop-when-empty', '--sleep=0')).code).toBe(0);
    expect(notes()).toContain('held back');

    const before = (await queue.controls()).restart;
    const restarted = await cli('queue:restart');
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(restarted.stdout).toContain('Broadcasting queue restart signal (redis, db).');
    expect((await queue.controls()).restart).not.toBe(before);
  });
});
