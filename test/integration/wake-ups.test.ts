import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import { encodePayload } from '../../src/payload/encode-payload.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker, type WorkerHandle } from '../../src/worker/create-worker.js';
import { AddToBufferJob } from '../fixtures/jobs/fixture-jobs.js';
import { recorder } from '../fixtures/jobs/recorder.js';
import { describeEachEngine, freshStore, storeConnections } from '../helpers/databases.js';

const IDLE_SLEEP = 120;

// Each worker here sleeps IDLE_SLEEP seconds between looks at an empty queue, longer than the test
// timeout: a job can only run in time if something wakes the worker.
await describeEachEngine('waking an idle worker', (engine) => {
  let queue: WorkerQueue;
  let worker: WorkerHandle;
  let running: Promise<number>;

  const until = async (done: () => boolean) => {
    while (!done()) await new Promise((resolve) => setTimeout(resolve, 20));
  };

  beforeAll(async () => {
    const store = await freshStore(engine, 'wake_ups');
    await boot({ default: store.default, connections: storeConnections(store), report: () => undefined });
    await runMigrations();
    queue = (await runtime()).queues.worker();
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

  // PostgreSQL wakes workers by NOTIFY, Redis by a token on the queue's notify list.
  if (engine === 'postgres' || engine === 'redis') {
    it(`on ${engine} a push from anywhere wakes it through the store`, { timeout: 30_000 }, async () => {
      // Stored through the driver alone: no in-process JobQueued event, only the store's wake-up.
      const payload = JSON.stringify(encodePayload(new AddToBufferJob('notified'), {}));
      await queue.bulk([{ queue: 'default', payload }]);
      await until(() => recorder.handled.length === 1);
      expect(recorder.handled).toEqual(['notified']);
    });

    it(`on ${engine} a bulk push wakes it through the store too`, { timeout: 30_000 }, async () => {
      const payloads = ['first', 'second'].map((value) => JSON.stringify(encodePayload(new AddToBufferJob(value), {})));
      await queue.bulk(payloads.map((payload) => ({ queue: 'default', payload })));
      await until(() => recorder.handled.length === 2);
      expect(recorder.handled).toEqual(['first', 'second']);
    });
  }
});
