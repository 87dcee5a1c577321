import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, expect, it } from 'vitest';

import type { DatabaseConnectionConfig } from '../../src/config/config-types.js';
import { describeEachEngine, freshDatabase } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';
import { ROOT, runCli } from '../helpers/run-cli.js';

const JOBS = 2000;

await describeEachEngine('two worker processes draining one queue', (engine) => {
  let dir: string;
  let knex: Knex;
  let connection: DatabaseConnectionConfig;

  beforeAll(async () => {
    connection = await freshDatabase(engine, 'two_workers');
    dir = mkdtempSync(path.join(os.tmpdir(), 'errand-two-workers-'));
    writeFileSync(
      path.join(dir, 'errand.config.mjs'),
      `export default ${JSON.stringify({
        default: 'database',
        connections: { database: connection },
        bootstrap: path.join(ROOT, 'test/fixtures/workers/ledger-jobs.mjs'),
      })};\n`,
    );
    const migrated = await runCli(['migrate'], dir, {});
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    knex = knexFactory(ledgerKnex(connection));
    await knex.schema.createTable('ledger', (t) => {
      t.increments('id');
      t.string('job_key', 64).notNullable();
      t.integer('pid').notNullable();
    });
  });
  afterAll(() => knex?.destroy());

  it(`runs each of ${JOBS} jobs exactly once`, async () => {
    await insertJobsForTest(knex, 'jobs', JOBS, (i) => ({ name: 'LedgerJob', command: { key: `job-${i}` } }));
    const env = { LEDGER_KNEX: JSON.stringify(ledgerKnex(connection)) };
    const args = ['queue:work', '--stop-when-empty', '--sleep=0'];
    const [a, b] = await Promise.all([runCli(args, dir, env), runCli(args, dir, env)]);
    expect(a.stderr + b.stderr).toBe('');
    expect([a.code, b.code]).toEqual([0, 0]);

    const rows = (await knex('ledger').select('job_key', 'pid')) as Array<{ job_key: string; pid: number }>;
    const perJob = new Map<string, number>();
    for (const row of rows) perJob.set(row.job_key, (perJob.get(row.job_key) ?? 0) + 1);
    expect(perJob.size).toBe(JOBS);
    expect([...perJob.values()].filter((n) => n !== 1)).toEqual([]);
    expect(rows).toHaveLength(JOBS);
    // Both processes took part (each printed DONE lines and wrote to the ledger).
    expect(new Set(rows.map((r) => r.pid)).size).toBe(2);
    expect(await knex('jobs').count({ n: '*' })).toEqual([{ n: engine === 'postgres' ? '0' : 0 }]);
    expect(await knex('failed_jobs').count({ n: '*' })).toEqual([{ n: engine === 'postgres' ? '0' : 0 }]);
  });
});

function ledgerKnex(connection: DatabaseConnectionConfig): Knex.Config {
  return {
    client: connection.client!,
    connection: connection.connection as Knex.StaticConnectionConfig,
    useNullAsDefault: true,
    pool: { min: 0, max: 2 },
  };
}
