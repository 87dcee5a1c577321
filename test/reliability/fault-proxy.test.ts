import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { FaultProxy } from './harness/fault-proxy.js';

// The proxy the scenarios put between a worker and its database: checked against the real
// servers, since what matters is how their drivers see a reset and a half-open connection.
const describeEachSql = databaseOnly("checks the proxy against the SQL servers' drivers");
await describeEachSql('the fault proxy', (engine) => {
  if (engine === 'sqlite')
    return it('has nothing to proxy on SQLite (a file, not a socket)', () => expect(engine).toBe('sqlite'));
  let proxy: FaultProxy;
  let port: number;
  let url: string;
  const open: Knex[] = [];
  /** A knex through the proxy whose queries give up after a second (socket and query timeouts). */
  const through = () => {
    const target = new URL(url);
    target.host = `127.0.0.1:${port}`;
    const knex = knexFactory(
      engine === 'mysql'
        ? {
            client: 'mysql2',
            connection: { uri: target.toString(), connectTimeout: 1000 } as never,
            pool: { min: 0, max: 1 },
            acquireConnectionTimeout: 2000,
          }
        : {
            client: 'pg',
            connection: { connectionString: target.toString(), query_timeout: 1000, connectionTimeoutMillis: 1000 },
            pool: { min: 0, max: 1 },
            acquireConnectionTimeout: 2000,
          },
    );
    open.push(knex);
    return knex;
  };
  const ping = async (knex: Knex) => {
    const started = Date.now();
    try {
      // knex's own timeout: the drivers would otherwise wait on a black-holed socket forever.
      await knex.raw('select 1 as one').timeout(1000);
      return { ok: true, ms: Date.now() - started };
    } catch (error) {
      return { ok: false, ms: Date.now() - started, error: (error as Error).message };
    }
  };

  beforeAll(async () => {
    url = (await freshDatabase(engine, 'fault_proxy')).connection as string;
    const target = new URL(url);
    proxy = new FaultProxy({ host: target.hostname, port: Number(target.port || (engine === 'mysql' ? 3306 : 5432)) });
    port = await proxy.start();
  });
  afterAll(async () => {
    await Promise.all(open.map((knex) => knex.destroy().catch(() => undefined)));
    await proxy?.stop();
  });

  it('passes traffic through, and a drop resets the open connections', async () => {
    const knex = through();
    expect(await ping(knex)).toMatchObject({ ok: true });
    expect(proxy.connections).toBe(1);
    proxy.drop();
    expect(proxy.connections).toBe(0);
    // The pooled connection is dead: the next query may fail once; the one after reconnects.
    await ping(knex);
    expect(await ping(knex)).toMatchObject({ ok: true });
  });

  it('resets a connection on a matching statement: before the server sees it, or after it ran', async () => {
    const direct = knexFactory({
      client: engine === 'mysql' ? 'mysql2' : 'pg',
      connection: url,
      pool: { min: 0, max: 1 },
    });
    open.push(direct);
    await direct.schema.dropTableIfExists('reset_probe');
    await direct.schema.createTable('reset_probe', (t) => t.string('v'));
    const knex = through();
    const before = proxy.resetOn(/insert into [`"]reset_probe[`"]/, 1);
    await expect(knex('reset_probe').insert({ v: 'before' })).rejects.toThrow();
    before.remove();
    const after = proxy.resetOn(/insert into [`"]reset_probe[`"]/, 1, { after: true });
    await expect(knex('reset_probe').insert({ v: 'after' })).rejects.toThrow();
    after.remove();
    // Other statements pass, and with the rules gone so does the insert.
    await knex('reset_probe').insert({ v: 'clear' });
    expect([before.matched, before.resets, after.matched, after.resets]).toEqual([1, 1, 1, 1]);
    // The server never saw the first insert; it ran the second, whose answer was swallowed.
    expect((await direct('reset_probe').select('v').orderBy('v')).map((r: { v: string }) => r.v)).toEqual([
      'after',
      'clear',
    ]);
  });

  it('black-holes open and new connections (queries hang until their own timeout), and heals', async () => {
    const knex = through();
    expect(await ping(knex)).toMatchObject({ ok: true });
    proxy.blackhole();
    const stuck = await ping(knex);
    expect(stuck.ok).toBe(false);
    // It waited for its timeout (1 s), not for a reset: nothing came back at all.
    expect(stuck.ms).toBeGreaterThanOrEqual(900);
    const fresh = await ping(through());
    expect(fresh.ok).toBe(false);
    proxy.heal();
    expect(await ping(through())).toMatchObject({ ok: true });
  });
});
