import type { Knex } from 'knex';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { createDashboard } from '../../src/dashboard/index.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { dashboardEndpoints } from '../helpers/dashboard-endpoints.js';
import { seedDashboardTables } from '../helpers/dashboard-seed.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';

// The hard rule: at 1,000,000 jobs and 100,000 failed records, no request of the
// dashboard makes PostgreSQL plan a sequential scan of either table. Every statement the API's
// GETs send is captured where the pg client sends it (so nothing escapes, knex's or not), then
// EXPLAINed with the same values on the same seeded tables.
const describeEachSql = databaseOnly("it reads PostgreSQL's plans for the dashboard's SQL");

/** One statement as the pg client sent it. */
interface Sent {
  text: string;
  values: unknown[];
}

/** A plan node of EXPLAIN (FORMAT JSON), as far as this test reads it. */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** Every node of a plan, depth first. */
function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

const WATCHED = new Set(['jobs', 'failed_jobs']);

await describeEachSql('the dashboard on PostgreSQL at 1M jobs and 100k failed records', (engine) => {
  if (engine !== 'postgres') {
    it.skip('plans are read on PostgreSQL only (its planner is what the rule is about)', () => undefined);
    return;
  }
  const sent: Sent[] = [];
  const query = pg.Client.prototype.query;
  let knex: Knex;
  let connection: string;

  beforeAll(async () => {
    const database = await freshDatabase('postgres', 'dashboard_plans');
    connection = database.connection as string;
    await boot({
      default: 'database',
      connections: { database },
      report: () => undefined,
    });
    await runMigrations();
    knex = databaseQueue((await runtime()).queues).knex;
    await seedDashboardTables(
      knex,
      'postgres',
      {
        pending: 900_000,
        delayed: 99_900,
        reserved: 100,
        failed: 100_000,
        batches: 1000,
        liveWorkers: 8,
        lostWorkers: 2,
      },
      'database',
    );
    // Wrapped after seeding: only the dashboard's own statements are kept.
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const [config, values] = args as [string | { text: string; values?: unknown[] }, unknown[] | undefined];
      if (typeof config === 'string') sent.push({ text: config, values: Array.isArray(values) ? values : [] });
      else if (config && typeof config.text === 'string') sent.push({ text: config.text, values: config.values ?? [] });
      return (query as (...rest: unknown[]) => unknown).apply(this, args);
    } as typeof query;
  }, 300_000);

  afterAll(async () => {
    pg.Client.prototype.query = query;
    await shutdown();
  });

  it('plans no Seq Scan on jobs or failed_jobs for any GET of the API', { timeout: 300_000 }, async () => {
    const handler = createDashboard({ basePath: '/admin/jobs', authorize: () => true, countCacheSeconds: 0 });
    const get = async (path: string) => {
      const response = await handler(new Request(`http://127.0.0.1/admin/jobs/${path}`));
      expect(response.status, `GET ${path}`).toBe(200);
      return response.json() as Promise<unknown>;
    };
    const probes = await dashboardEndpoints(get);
    for (const probe of probes) await get(probe.path);
    pg.Client.prototype.query = query;

    // Each distinct statement and values once: the listings repeat theirs.
    const reads = [
      ...new Map(
        sent.filter(({ text }) => /^\s*(select|with)\b/i.test(text)).map((read) => [JSON.stringify(read), read]),
      ).values(),
    ];
    const scans: string[] = [];
    const touched = new Set<string>();
    // A client of its own, with the values as the dashboard sent them (a custom plan, as knex's
    // unnamed statements always get).
    const client = new pg.Client({ connectionString: connection });
    await client.connect();
    try {
      for (const { text, values } of reads) {
        const result = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>({
          text: `explain (format json) ${text}`,
          values,
        });
        for (const node of nodesOf(result.rows[0]!['QUERY PLAN'][0]!.Plan)) {
          if (node['Relation Name'] && WATCHED.has(node['Relation Name'])) touched.add(node['Relation Name']);
          if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] && WATCHED.has(node['Relation Name']))
            scans.push(`Seq Scan on ${node['Relation Name']}: ${text} ${JSON.stringify(values)}`);
        }
      }
    } finally {
      await client.end();
    }
    // The capture saw the dashboard read both tables (else this test proves nothing).
    expect([...new Set(scans)]).toEqual([]);
    expect([...touched].sort()).toEqual(['failed_jobs', 'jobs']);
  });
});
