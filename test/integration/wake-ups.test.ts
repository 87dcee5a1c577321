import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import type { DatabaseQueue } from '../../src/drivers/database/database-queue.js';
import { encodePayload } from '../../src/payload/encode-payload.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker, type WorkerHandle } from '../../src/worker/create-worker.js';
import { AddToBufferJob } from '../fixtures/jobs/fixture-jobs.js';
import { recorder } from '../fixtures/jobs/recorder.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { describeEachEngine, freshDatabase } from '../helpers/databases.js';

const IDLE_SLEEP = 120;

// Each worker here sleeps IDLE_SLEEP seconds between looks at an empty queue, longer than the test
// timeout: a job can only run in time if something wakes the worker.
await describeEachEngine('waking an idle worker', (engine) => {
  let queue: DatabaseQueue;
  let worker: WorkerHandle;
  let running: Promise<number>;

  const until = async (done: () => boolean) => {
    while (!done()) await new Promise((resolve) => setTimeout(resolve, 20));
  };

  beforeAll(async () => {
    const connection = await freshDatabase(engine, 'wake_ups');
    await boot({ default: 'database', connections: { database: connection }, report: () => undefined });
    await runMigrations();
    queue = databaseQueue((await runtime()).queues);
  });
  afterAll(() => shutdown());
  beforeEach(async () => {
    recorder.reset();
    worker = createWorker({ sleep: IDLE_SLEEP });
    running = worker.run();
    // Let it find the queue empty and go to sleep.
    await new Promise((resolve) => setTimeout(resolve, 500));
    return async () => {
      worker.stop();
      expect(await running).toBe(0);
    };
  });

  it('a dispatch in the same process wakes it at once', { timeout: 30_000 }, async () => {
    await AddToBufferJob.dispatch('in-process');
    await until(() => recorder.handled.length === 1);
    expect(recorder.handled).toEqual(['in-process']);
  });

  if (engine === 'postgres') {
    it('on PostgreSQL a push from anywhere wakes it through NOTIFY', { timeout: 30_000 }, async () => {
      // Stored through the driver alone: no in-process JobQueued event, only the NOTIFY.
      const payload = JSON.stringify(encodePayload(new AddToBufferJob('notified'), {}));
      await queue.bulk([{ queue: 'default', payload }]);
      await until(() => recorder.handled.length === 1);
      expect(recorder.handled).toEqual(['notified']);
    });

    it('on PostgreSQL a multi-row insert wakes it through NOTIFY too', { timeout: 30_000 }, async () => {
      const payloads = ['first', 'second'].map((value) => JSON.stringify(encodePayload(new AddToBufferJob(value), {})));
      await queue.bulk(payloads.map((payload) => ({ queue: 'default', payload })));
      await until(() => recorder.handled.length === 2);
      expect(recorder.handled).toEqual(['first', 'second']);
    });
  }
});
