import { readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { databaseNow } from '../helpers/daemon.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { ROOT } from '../helpers/run-cli.js';
import { createWorkerApp, type StoreApp } from '../helpers/worker-process.js';

/** The statements of docs/monitoring.md's KEDA sql block, by the engine comment above each. */
function documentedQueries(): Record<'postgres' | 'mysql', string> {
  const page = readFileSync(path.join(ROOT, 'docs/monitoring.md'), 'utf8');
  const block = /## Autoscaling with KEDA[\s\S]*?```sql\n([\s\S]*?)```/.exec(page)?.[1];
  if (!block) throw new Error('docs/monitoring.md has no sql block under "Autoscaling with KEDA".');
  const [, postgres] = /-- PostgreSQL\n([\s\S]*?;)/.exec(block) ?? [];
  const [, mysql] = /-- MySQL \/ MariaDB\n([\s\S]*?;)/.exec(block) ?? [];
  return { postgres: postgres!, mysql: mysql! };
}

const describeEachSql = databaseOnly("runs the SQL docs/monitoring.md gives KEDA's scalers on the jobs table");

await describeEachSql("docs/monitoring.md: KEDA's pending-jobs query", (engine) => {
  if (engine === 'sqlite') {
    // KEDA has no SQLite scaler: the page gives SQL for PostgreSQL and MySQL/MariaDB only.
    it.skip('KEDA has no SQLite scaler, so the page gives no SQLite query', () => undefined);
    return;
  }
  let app: StoreApp;

  beforeAll(async () => {
    app = await createWorkerApp(await freshDatabase(engine, 'monitoring_keda'), {
      bootstrap: [],
      prefix: 'errand-keda-',
    });
  });
  afterAll(() => app?.close());

  it('counts the pending jobs of default: not delayed, not reserved, not another queue', async () => {
    const now = await databaseNow(app.knex, engine);
    const row = (queue: string, availableAt: number, reservedAt: number | null = null) => ({
      queue,
      payload: '{}',
      attempts: reservedAt === null ? 0 : 1,
      reserved_at: reservedAt,
      available_at: availableAt,
      created_at: now - 100,
    });
    await app
      .knex('jobs')
      .insert([
        row('default', now - 90),
        row('default', now - 5),
        row('default', now),
        row('default', now + 3600),
        row('default', now - 60, now - 30),
        row('mail', now - 60),
      ]);
    const sql = documentedQueries()[engine].replace(/;$/, '');
    const result = await app.knex.raw(sql);
    const rows = (engine === 'postgres' ? result.rows : result[0]) as Array<Record<string, number | string>>;
    expect(rows.map((r) => Number(Object.values(r)[0]))).toEqual([3]);
  });
});
