// A real `queue:work` process on a redis connection, as the dashboard's redis inspector sees it:
// registered with its host and pid, beating, holding the job it runs; SIGKILLed, it stays listed
// as lost (holding that job) until another worker's sweep takes it back.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import type { QueueInspector } from '../../src/contracts/queue-inspector.js';
import { Job } from '../../src/decorators/job.js';
import { openQueueInspector } from '../../src/drivers/connect.js';
import { Queueable } from '../../src/job/queueable.js';
import { shutdown } from '../../src/runtime/boot.js';
import { Fleet } from '../helpers/daemon.js';
import { describeOnRedis, dropRedisKeys, REDIS_TEST_URL, redisTestPrefix } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';
import { type RedisCliApp, writeRedisCliApp } from '../helpers/redis-cli-app.js';

// The dispatching side of jobs.mjs's Hold, which runs until the file `release` appears in its folder.
@Job({ name: 'Hold' })
class Hold extends Queueable {
  async handle() {}
}

const HOLD = `import { existsSync } from 'node:fs';
import { join } from 'node:path';
export const Hold = Job({ name: 'Hold' })(class Hold extends Queueable {
  async handle() { while (!existsSync(join(dir, 'release'))) await new Promise((r) => setTimeout(r, 50)); }
});
`;

await describeOnRedis('a queue:work process as the redis queue inspector sees it', () => {
  const prefix = redisTestPrefix('redis-inspector-worker');
  const fleet = new Fleet();
  let app: RedisCliApp;
  let inspector: QueueInspector;

  beforeAll(async () => {
    // A lapse of 4 s: the killed worker turns lost soon after, with nobody to sweep it.
    const redis = {
      driver: 'redis' as const,
      url: REDIS_TEST_URL,
      prefix,
      blockFor: 1,
      heartbeat: { interval: 1, lapse: 4 },
    };
    app = await writeRedisCliApp('redis-inspector-worker', redis, 1, HOLD);
    inspector = openQueueInspector(app.queue);
  });

  afterAll(async () => {
    try {
      await fleet.killAll();
      await shutdown();
    } finally {
      await dropRedisKeys(prefix);
    }
  });

  it('lists the worker with its pid and the job it holds, beating, then lost once SIGKILLed', async () => {
    const worker = fleet.start(['queue:work', '--queue=holding', '--sleep=0'], app.dir);
    const id = await Hold.dispatch().onQueue('holding');
    expect(await inspector.queueNames()).toEqual(['holding']);

    await eventually('the worker holds the job', async () => {
      const [listed] = await inspector.workers();
      return listed !== undefined && listed.jobs.length === 1;
    });
    const [first] = await inspector.workers();
    expect(first).toMatchObject({ pid: worker.pid, hostname: os.hostname(), queues: ['holding'], lost: false });
    const held = first!.jobs[0]!;
    expect(held).toBe(id);
    expect(await inspector.job(held)).toMatchObject({ state: 'reserved', reservedBy: first!.id, name: 'Hold' });
    await eventually('a heartbeat moves the last beat on', async () => {
      const [again] = await inspector.workers();
      return again !== undefined && again.lastHeartbeatAt > first!.lastHeartbeatAt;
    });
    expect(first!.startedAt).toBeLessThanOrEqual(first!.lastHeartbeatAt);

    worker.child.kill('SIGKILL');
    await worker.exited;
    await eventually('the killed worker is lost', async () => (await inspector.workers())[0]?.lost === true);
    const [lost] = await inspector.workers();
    expect(lost).toMatchObject({ id: first!.id, pid: worker.pid, jobs: [held] });
    writeFileSync(path.join(app.dir, 'release'), '');
  });
});
