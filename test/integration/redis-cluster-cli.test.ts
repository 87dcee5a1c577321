import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, expect, it } from 'vitest';

import type { ErrandConfig } from '../../src/config/config-types.js';
import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import { Job } from '../../src/decorators/job.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { describeWithRedisServer } from '../helpers/private-redis.js';
import { type PrivateRedisCluster, startRedisCluster } from '../helpers/redis-cluster.js';
import { ROOT, runCli } from '../helpers/run-cli.js';

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

const distIndex = pathToFileURL(path.join(ROOT, 'dist/index.js')).href;
/** Queue names whose hash tags spread over the three masters (checked below). */
const QUEUES = ['default', 'emails', 'reports', 'exports', 'images', 'search'];

// A worker process on a local cluster, end to end: queues spread over the masters, one blocking
// connection per queue, heartbeats from the monitor thread, failed jobs in SQLite.
describeWithRedisServer('queue:work on a Redis Cluster', () => {
  let cluster: PrivateRedisCluster;
  let dir: string;
  let queue: WorkerQueue;
  const notes = () =>
    existsSync(path.join(dir, 'notes.txt')) ? readFileSync(path.join(dir, 'notes.txt'), 'utf8').trim().split('\n') : [];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    dir = mkdtempSync(path.join(os.tmpdir(), 'errand-redis-cluster-cli-'));
    const config: ErrandConfig = {
      default: 'redis',
      bootstrap: './jobs.mjs',
      connections: {
        redis: {
          driver: 'redis',
          cluster: { nodes: [...cluster.urls] },
          prefix: 'errand-test:cluster-cli:',
          blockFor: 1,
        },
        db: { driver: 'database', connection: path.join(dir, 'errand.sqlite') },
      },
    };
    writeFileSync(path.join(dir, 'errand.config.mjs'), `export default ${JSON.stringify(config)};\n`);
    writeFileSync(
      path.join(dir, 'jobs.mjs'),
      `import { appendFileSync } from 'node:fs';
import { Job, Queueable } from '${distIndex}';
export const Note = Job({ name: 'Note' })(class Note extends Queueable {
  async handle() { appendFileSync(${JSON.stringify(path.join(dir, 'notes.txt'))}, this.text + '\\n'); }
});
export const Broken = Job({ name: 'Broken', tries: 1 })(class Broken extends Queueable {
  async handle() { throw new Error('broken on purpose'); }
});
`,
    );
    await boot(config, { cwd: dir });
    queue = (await runtime()).queues.worker();
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
