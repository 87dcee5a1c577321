import path from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { describeEachEngine, freshStore } from '../helpers/databases.js';
import { pushJobsForTest } from '../helpers/raw-jobs.js';
import { ROOT, runCli } from '../helpers/run-cli.js';
import { countRows, createWorkerApp, type StoreApp } from '../helpers/worker-process.js';

const JOBS = 2000;

await describeEachEngine('two worker processes draining one queue', (engine) => {
  let app: StoreApp;

  beforeAll(async () => {
    app = await createWorkerApp(await freshStore(engine, 'two_workers'), {
      bootstrap: [path.join(ROOT, 'test/fixtures/workers/ledger-jobs.mjs')],
      prefix: 'errand-two-workers-',
    });
  });
  afterAll(() => app?.close());

  it(`runs each of ${JOBS} jobs exactly once`, async () => {
    await pushJobsForTest(app.queue(), JOBS, (i) => ({ name: 'LedgerJob', command: { key: `job-${i}` } }));
    const args = ['queue:work', '--stop-when-empty', '--sleep=0'];
    const [a, b] = await Promise.all([runCli(args, app.dir, app.env), runCli(args, app.dir, app.env)]);
    expect(a.stderr + b.stderr).toBe('');
    expect([a.code, b.code]).toEqual([0, 0]);

    const rows = (await app.knex('ledger').select('job_key', 'pid')) as Array<{ job_key: string; pid: number }>;
    const perJob = new Map<string, number>();
    for (const row of rows) perJob.set(row.job_key, (perJob.get(row.job_key) ?? 0) + 1);
    expect(perJob.size).toBe(JOBS);
    expect([...perJob.values()].filter((n) => n !== 1)).toEqual([]);
    expect(rows).toHaveLength(JOBS);
    // Both processes took part (each printed DONE lines and wrote to the ledger).
    expect(new Set(rows.map((r) => r.pid)).size).toBe(2);
    expect(await app.jobCount()).toBe(0);
    expect(await countRows(app.knex, 'failed_jobs')).toBe(0);
  });
});
