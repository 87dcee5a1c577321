import net from 'node:net';

import { afterAll, expect, it } from 'vitest';

import { databaseOnly } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';
import {
  dispatchJobs,
  isRunning,
  jsonLines,
  ledgerOf,
  sleep,
  timeoutJobsSuite,
  waitUntil,
  within,
} from '../helpers/timeout-jobs-kit.js';
import { type CliProcess, countRows, type WorkerApp } from '../helpers/worker-process.js';

/**
 * A TCP proxy between the worker and the database server, so a test can drop every connection
 * and refuse new ones for a while, as a database restart or a network cut would.
 */
class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  /** Accepts connections (on the port it had before, once it has one) and forwards them. */
  async open(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Stops listening (new connections are refused) and destroys every proxied connection. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  get connections(): number {
    return this.sockets.size;
  }
}

const describeEachSql = databaseOnly(
  'cuts the database connection through a TCP proxy and reads the jobs and queue_workers tables (a Redis restart is a reliability scenario)',
);
await describeEachSql('queue:work losing its database connection', (engine) => {
  if (engine === 'sqlite') {
    it.skip('does not apply to SQLite (no server connection)', () => undefined); // Skipped: SQLite is a local file opened in-process, with no network connection to lose.
    return;
  }
  let app: WorkerApp;
  let proxy: TcpProxy;
  // Registered first so it runs last, once the workers are gone.
  afterAll(() => proxy?.cut());
  const pool = timeoutJobsSuite(
    engine,
    'daemon_connection_loss',
    async (connection) => {
      const real = new URL(connection.connection as string);
      proxy = new TcpProxy(real.hostname, Number(real.port || (engine === 'mysql' ? 3306 : 5432)));
      await proxy.open();
      const proxied = new URL(real);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(proxy.port);
      // The worker reaches the database through the proxy; the test and the ledger connect directly.
      return { connection: proxied.toString(), heartbeat: { interval: 1, lapse: 3 } };
    },
    (made) => (app = made),
  );
  const ran = async (key: string) => (await ledgerOf(app.knex, key)).length > 0;
  const output = (proc: CliProcess) => () => `${proc.stdout()}\n${proc.stderr()}`;

  const pushDirect = (keys: string[]) =>
    insertJobsForTest(app.knex, 'jobs', keys.length, (i) => ({ name: 'QuickJob', command: { key: keys[i] } }));

  it('survives the database going away for a few seconds and carries on once it is back', async () => {
    const worker = pool.start(['queue:work', '--sleep=0.5', '--json'], app);
    await worker.waitFor(/"status":"worker_starting"/);
    await dispatchJobs(app, [
      { job: 'QuickJob', args: ['before-1'] },
      { job: 'QuickJob', args: ['before-2'] },
      { job: 'QuickJob', args: ['before-3'] },
    ]);
    await waitUntil(
      async () => (await ran('before-1')) && (await ran('before-2')) && (await ran('before-3')),
      'the first jobs to run',
      20_000,
      output(worker),
    );
    expect(proxy.connections).toBeGreaterThan(0);

    await proxy.cut();
    await pushDirect(['during-1', 'during-2']);
    await sleep(3000);
    expect(await isRunning(worker), output(worker)()).toBe(true);
    expect(await ran('during-1')).toBe(false);
    // The worker says what is wrong instead of staying silent.
    await waitUntil(
      () => worker.stderr().trim() !== '',
      'the worker to report the lost connection',
      10_000,
      output(worker),
    );

    await proxy.open();
    await waitUntil(
      async () => (await ran('during-1')) && (await ran('during-2')),
      'the jobs pushed during the outage to run',
      60_000,
      output(worker),
    );
    await pushDirect(['after-1', 'after-2']);
    await waitUntil(
      async () => (await ran('after-1')) && (await ran('after-2')),
      'the jobs pushed after the outage to run',
      30_000,
      output(worker),
    );

    expect(await isRunning(worker)).toBe(true);
    worker.child.kill('SIGTERM');
    expect(await within(worker.exited, 20_000, output(worker))).toEqual({ code: 0, signal: null });

    const pids = new Set<number>();
    for (const key of ['before-1', 'before-2', 'before-3', 'during-1', 'during-2', 'after-1', 'after-2']) {
      const rows = await ledgerOf(app.knex, key);
      expect(rows, key).toHaveLength(1);
      pids.add(rows[0]!.pid);
    }
    expect([...pids]).toEqual([worker.pid]);
    // Every stdout line stayed JSON while the database was away (knex's warnings go to stderr).
    expect(jsonLines(worker.stdout()).at(-1)).toMatchObject({
      status: 'worker_stopping',
      reason: 'interrupted',
      exit_status: 0,
    });
    const leftover = await app.knex('jobs').select('*');
    expect(leftover, `${JSON.stringify(leftover)}\n${output(worker)()}`).toEqual([]);
    expect(await countRows(app.knex, 'failed_jobs')).toBe(0);
    // A clean exit deregisters, so the connection came back for the monitor thread too.
    expect(await countRows(app.knex, 'queue_workers')).toBe(0);
  });
});
