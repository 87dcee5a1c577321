import { afterAll, beforeAll, beforeEach, expect, it, vi } from 'vitest';

import { RuntimeDashboardData } from '../../src/dashboard/runtime-data.js';
import { Job } from '../../src/decorators/job.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { type ErrandRuntime, runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { describeEachEngine, freshStore, storeConnections } from '../helpers/databases.js';

// "Retry all matching" in chunks: each chunk is one bulk push per connection and then its records
// forgotten, a request stops at its limit and says more match, and a crash midway loses no job
// and repeats at most the chunk it stopped in. Chunk 2 and limit 5 over 7 failed records.

@Job({ name: 'RetryChunkJob', tries: 1 })
class RetryChunkJob extends Queueable {
  async handle() {
    throw new Error('fails until retried');
  }
}

await describeEachEngine('retrying failed jobs from the dashboard in chunks', (engine) => {
  let app: ErrandRuntime;
  let connection: string;
  const data = () => new RuntimeDashboardData(app, { cap: 1000, cacheMs: 0, redact: [], retryChunk: 2, retryLimit: 5 });
  const counts = async () => {
    const row = (await data().queues()).items.find((queue) => queue.name === 'chunked');
    return { pending: row?.pending ?? 0, failed: row?.failed ?? 0 };
  };

  beforeAll(async () => {
    const store = await freshStore(engine, 'dashboard_retry');
    await boot({ default: store.default, connections: storeConnections(store), report: () => undefined });
    await runMigrations();
    app = await runtime();
    connection = store.default;
  });
  beforeEach(async () => {
    vi.restoreAllMocks();
    await app.queues.worker(connection).clear('chunked');
    await app.queues.failer().flush();
    for (let n = 0; n < 7; n++) await RetryChunkJob.dispatch().onQueue('chunked');
    await createWorker({ queues: ['chunked'], stopWhenEmpty: true, sleep: 0 }).run();
    expect(await counts()).toEqual({ pending: 0, failed: 7 });
  });
  afterAll(() => shutdown());

  it('pushes each chunk in one bulk push and stops at the limit, saying more match', async () => {
    const queue = app.queues.connection(connection);
    const bulk = vi.spyOn(queue, 'bulk');
    const push = vi.spyOn(queue, 'push');
    const first = await data().retryFailed({ filter: {} });
    expect(first).toMatchObject({ ok: true, count: 5, more: true });
    expect(first.message).toBe('Retried 5 jobs; more match (at most 5 a request): retry again to continue');
    expect(bulk.mock.calls.map(([requests]) => requests.length)).toEqual([2, 2, 1]);
    expect(push).not.toHaveBeenCalled();
    expect(await counts()).toEqual({ pending: 5, failed: 2 });
    const second = await data().retryFailed({ filter: {} });
    expect(second).toEqual({ ok: true, message: 'Retried 2 jobs', count: 2 });
    expect(await counts()).toEqual({ pending: 7, failed: 0 });
  });

  it('loses no job when it stops midway, and repeats at most the chunk it stopped in', async () => {
    const failer = app.queues.failer();
    const forget = failer.forget.bind(failer);
    let forgets = 0;
    vi.spyOn(failer, 'forget').mockImplementation(async (key) => {
      if (++forgets === 3) throw new Error('the dashboard process died here');
      return forget(key);
    });
    await expect(data().retryFailed({ filter: {} })).rejects.toThrow('died here');
    // the first chunk pushed and forgotten; the second pushed, its records still there
    expect(await counts()).toEqual({ pending: 4, failed: 5 });
    vi.restoreAllMocks();
    await data().retryFailed({ filter: {} });
    await data().retryFailed({ filter: {} });
    // every job is back, the interrupted chunk's two twice
    expect(await counts()).toEqual({ pending: 9, failed: 0 });
  });
});
