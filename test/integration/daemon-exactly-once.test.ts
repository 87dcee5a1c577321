import path from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';
import { Fleet, ledgerEnv, ledgerRows, within } from '../helpers/daemon.js';
import { describeEachEngine, freshStore } from '../helpers/databases.js';
import { pushJobsForTest } from '../helpers/raw-jobs.js';
import { ROOT } from '../helpers/run-cli.js';
import { countRows, createWorkerApp, type StoreApp } from '../helpers/worker-process.js';

// The reliability suite's scenario 1 runs the published sizes; this is the quick check of npm test.
const JOBS = 8_000;
const PROCESSES = 4;
const CONCURRENCY = 8;

await describeEachEngine('queue:work daemons: exactly once under load', (engine) => {
  let app: StoreApp;
  const fleet = new Fleet();

  beforeAll(async () => {
    app = await createWorkerApp(await freshStore(engine, 'daemon_exactly_once'), {
      bootstrap: [path.join(ROOT, 'test/fixtures/workers/reliability-jobs.mjs')],
      // Four busy workers beside the other test files on two cores delayed beats past a 3 s lapse
      // (before and after the reliability fixes alike); a worker taken for dead is another
      // scenario (the reliability suite's kill-loop and stale-worker). A Redis worker's monitor
      // thread loads node-redis and knex (failed jobs stay in SQLite): with four starting at once
      // beside other files it took 12 s to start, and the worker it had not yet beaten for was
      // presumed dead by the others' sweeps before its first beat.
      overrides: { heartbeat: { interval: 1, lapse: engine === 'redis' ? 30 : 10 } },
      prefix: 'errand-exactly-once-',
    });
  });
  afterAll(async () => {
    await fleet.killAll();
    await app?.close();
  });

  it(`${PROCESSES} processes × --concurrency=${CONCURRENCY} run each of ${JOBS} jobs exactly once`, {
    timeout: 180_000,
  }, async () => {
    // One try: a job claimed twice would fail ("attempted too many times") instead of hiding.
    await pushJobsForTest(app.queue(), JOBS, (i) => ({
      name: 'ReliableJob',
      command: { key: `k${i}`, ms: 0 },
      maxTries: 1,
    }));
    const started = performance.now();
    const args = ['queue:work', `--concurrency=${CONCURRENCY}`, '--prefetch=32', '--sleep=0.1', '--stop-when-empty'];
    const workers = Array.from({ length: PROCESSES }, () => fleet.start(args, app.dir, ledgerEnv(app, CONCURRENCY)));
    const exits = await within(
      Promise.all(workers.map((w) => w.exited)),
      150_000,
      'the workers to drain the queue and exit',
    );
    console.log(
      `[${engine}] ${JOBS} jobs, ${PROCESSES} workers × ${CONCURRENCY}: drained in ${Math.round(performance.now() - started)} ms`,
    );

    expect(workers.map((w) => w.stderr())).toEqual(workers.map(() => ''));
    expect(exits).toEqual(workers.map(() => ({ code: 0, signal: null })));

    const rows = await ledgerRows(app.knex);
    const perKey = new Map<string, number>();
    for (const row of rows) perKey.set(row.job_key, (perKey.get(row.job_key) ?? 0) + 1);
    expect(perKey.size).toBe(JOBS);
    expect([...perKey].filter(([, n]) => n !== 1)).toEqual([]);
    expect(rows).toHaveLength(JOBS);
    expect(rows.filter((row) => row.attempt !== 1)).toEqual([]);
    // Every process took part.
    expect(new Set(rows.map((row) => row.pid))).toEqual(new Set(workers.map((w) => w.pid)));
    expect(await app.jobCount()).toBe(0);
    expect(await countRows(app.knex, 'failed_jobs')).toBe(0);
    expect(await app.workerCount()).toBe(0);
  });
});
