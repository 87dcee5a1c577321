import { afterAll, beforeAll, expect, it } from 'vitest';

import type { ConnectionErrorBody, OverviewBody, QueueBody, WorkerBody } from '../../src/dashboard/api-types.js';
import { createDashboard } from '../../src/dashboard/create-dashboard.js';
import { Job } from '../../src/decorators/job.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { type ErrandRuntime, runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { describeEachEngine, freshStore, storeConnections } from '../helpers/databases.js';

// One connection the dashboard cannot reach must not take the others down with it: a MariaDB and
// a Redis connection point at a closed port beside the engine's working store, and a second
// database connection shares the working database (each inspector lists only the workers
// registered under its own connection's name, so both must be read).

@Job({ name: 'DegradeJob' })
class DegradeJob extends Queueable {
  async handle() {}
}

/** Nothing listens on port 1 of the loopback address: connecting is refused at once. */
const CLOSED = '127.0.0.1:1';

await describeEachEngine('the dashboard with one connection down', (engine) => {
  let app: ErrandRuntime;
  let connection: string;
  const dashboard = () => createDashboard({ runtime: app, authorize: () => true, countCacheSeconds: 0 });
  const get = (path: string) => dashboard()(new Request(`http://dash.test/admin/jobs/${path}`));

  beforeAll(async () => {
    const store = await freshStore(engine, 'dashboard_degrade');
    const connections = storeConnections(store);
    await boot({
      default: store.default,
      connections: {
        ...connections,
        // its own jobs table (else both connections show the same jobs), the workers table shared
        shared: { ...connections.database, table: 'shared_jobs' },
        downDb: { driver: 'database', client: 'mysql2', connection: `mysql://root@${CLOSED}/test` },
        downRedis: { driver: 'redis', url: `redis://${CLOSED}` },
      },
      report: () => undefined,
    });
    await runMigrations('database');
    await runMigrations('shared');
    app = await runtime();
    connection = store.default;
    for (let n = 0; n < 3; n++) await DegradeJob.dispatch().onQueue('alive');
    for (const [name, id] of [
      [connection, 'worker-default'],
      ['shared', 'worker-shared'],
    ] as const) {
      await app.queues.worker(name).registerWorker({
        id,
        name: `${id}:1`,
        connection: name,
        queues: ['alive'],
        hostname: 'degrade-host',
        pid: 1,
        concurrency: 1,
      });
    }
  });
  afterAll(() => shutdown());

  const named = (errors: readonly ConnectionErrorBody[] | undefined, name: string) =>
    errors?.find((error) => error.connection === name)?.message;

  it("lists the reachable connections' queues and names the unreachable ones with host:port", async () => {
    const response = await get('api/queues');
    expect(response.status).toBe(200);
    const rows = (await response.json()) as QueueBody[];
    expect(rows.find((row) => row.connection === connection && row.name === 'alive')?.pending).toBe(3);
    const errors = JSON.parse(response.headers.get('errand-connection-errors') ?? '[]') as ConnectionErrorBody[];
    expect(named(errors, 'downDb')).toContain(`[downDb] (${CLOSED})`);
    expect(named(errors, 'downRedis')).toContain(`[downRedis] (${CLOSED})`);
  });

  it('sums the overview over the reachable connections and lists the others in errors', async () => {
    const response = await get('api/overview');
    expect(response.status).toBe(200);
    const body = (await response.json()) as OverviewBody;
    expect(body.pending).toBe(3);
    expect(named(body.errors, 'downDb')).toContain(CLOSED);
    expect(named(body.errors, 'downRedis')).toContain(CLOSED);
  });

  it('lists the workers of both connections that share one database', async () => {
    const response = await get('api/workers');
    expect(response.status).toBe(200);
    const ids = ((await response.json()) as WorkerBody[]).map((worker) => worker.id).sort();
    expect(ids).toEqual(['worker-default', 'worker-shared']);
  });

  it('answers a jobs page of the unreachable connection with the error, not a 500', async () => {
    const response = await get('api/jobs?state=pending&connection=downDb');
    expect(response.status).toBe(200);
    expect(named(((await response.json()) as { errors?: ConnectionErrorBody[] }).errors, 'downDb')).toContain(CLOSED);
  });

  it('shows a notice naming the unreachable connections on the pages', async () => {
    for (const page of ['', 'queues', 'workers', 'metrics']) {
      const response = await get(page);
      expect(response.status, page).toBe(200);
      const markup = await response.text();
      expect(markup, page).toMatch(/<p data-connection-error="downDb">[^<]*\[downDb\] \(127\.0\.0\.1:1\)/);
      if (page !== 'metrics') expect(markup, page).toContain('data-connection-error="downRedis"');
    }
  });
});
