import { afterAll, beforeAll, expect, it } from 'vitest';

import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import { Job } from '../../src/decorators/job.js';
import { Queueable } from '../../src/job/queueable.js';
import { shutdown } from '../../src/runtime/boot.js';
import { describeWithRedisServer } from '../helpers/private-redis.js';
import { type RedisCliApp, writeRedisCliApp } from '../helpers/redis-cli-app.js';
import { type PrivateRedisCluster, startRedisCluster } from '../helpers/redis-cluster.js';
import { runCli } from '../helpers/run-cli.js';

// The dispatching side of the jobs jobs.mjs (written below) defines for the CLI's worker.
@Job({ name: 'Note' })
class Note extends Queueable {
  constructor(public text: string) {
    super();
  }
  async handle() {}
}

@Job({ name: 'Broken', tries: 1 })
class Broken extends Queueable {
  async handle() {}
}

/** Queue names whose hash tags spread over the three masters (checked below). */
const QUEUES = ['default', 'emails', 'reports', 'exports', 'images', 'search'];

// A worker process on a local cluster, end to end: queues spread over the masters, one blocking
// connection per queue, heartbeats from the monitor thread, failed jobs in SQLite.
describeWithRedisServer('queue:work on a Redis Cluster', () => {
  let cluster: PrivateRedisCluster;
  let dir: string;
  let queue: WorkerQueue;
  const notes = () => app.notes();
  let app: RedisCliApp;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    app = await writeRedisCliApp(
      'redis-cluster-cli',
      {
        driver: 'redis',
        cluster: { nodes: [...cluster.urls] },
        prefix: 'errand-test:cluster-cli:',
        blockFor: 1,
      },
      1,
    );
    ({ dir, queue } = app);
  });

  afterAll(async () => {
    try {
      await shutdown();
    } finally {
      await cluster?.stop();
    }
  });

  it('runs jobs of queues on every master and fails the broken one into failed_jobs', async () => {
    const migrated = await runCli(['migrate'], dir);
    expect(migrated.code, migrated.stderr).toBe(0);
    const masters = new Set<number>();
    for (const name of QUEUES) {
      masters.add((await cluster.nodeOf(`{${name}}`)).port);
      await Note.dispatch(`on ${name}`).onQueue(name);
    }
    // The queues live on every master, so the worker claims from and blocks on all three.
    expect(masters.size).toBe(3);
    await Broken.dispatch();
    await Note.dispatch('later').delay(1);

    const worked = await runCli(
      [
        'queue:work',
        `--queue=${QUEUES.join(',')}`,
        '--stop-when-empty-for=3',
        '--sleep=0',
        '--backoff=0',
        '--concurrency=4',
      ],
      dir,
    );
    expect(worked.code, worked.stderr).toBe(0);
    expect(notes().sort()).toEqual([...QUEUES.map((name) => `on ${name}`), 'later'].sort());
    for (const name of QUEUES) expect(await queue.size(name)).toBe(0);

    const failed = await runCli(['queue:failed', '--json'], dir);
    const records = JSON.parse(failed.stdout) as Array<Record<string, string>>;
    expect(records.map((r) => [r.connection, r.queue, r.job])).toEqual([['redis', 'default', 'Broken']]);
  });
});
