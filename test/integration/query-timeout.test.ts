import type { Knex } from 'knex';
import { afterAll, beforeAll, expect, it } from 'vitest';

import type { DatabaseConnectionConfig } from '../../src/config/config-types.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { createKnex } from '../../src/drivers/database/create-knex.js';
import { describeDatabaseError } from '../../src/drivers/database/database-error.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { FaultProxy } from '../reliability/harness/fault-proxy.js';

// queryTimeout: a statement that gets no answer (a half-open network, here a black-holing proxy)
// fails within the limit with an error naming the server, and its connection is discarded, so
// the pool hands out a fresh one once the network is back. Idle connections are never timed.
const describeEachSql = databaseOnly('queryTimeout is a SQL connection option');
await describeEachSql('queryTimeout', (engine) => {
  if (engine === 'sqlite')
    return it('has no socket to time out on SQLite (a file, not a network)', () => expect(engine).toBe('sqlite'));
  let proxy: FaultProxy;
  let base: DatabaseConnectionConfig;
  const open: Knex[] = [];
  /** errand's knex for a connection through the proxy, with a queryTimeout of `seconds`. */
  const through = (seconds: number | false) => {
    const url = new URL(base.connection as string);
    url.host = `127.0.0.1:${proxy.port}`;
    const resolved = resolveConfig(
      { connections: { q: { ...base, connection: url.toString(), queryTimeout: seconds, pool: { min: 0, max: 1 } } } },
      { env: {} },
    );
    const knex = createKnex(resolved.connections.q as never, 'q');
    open.push(knex);
    return knex;
  };
  /** The server-side id of the connection a statement runs on. */
  const sessionId = async (knex: Knex | Knex.Transaction) => {
    const result = await knex.raw(
      engine === 'mysql' ? 'select connection_id() as id' : 'select pg_backend_pid() as id',
    );
    return String(
      engine === 'mysql'
        ? (result as [Array<{ id: unknown }>])[0][0]!.id
        : (result as { rows: Array<{ id: unknown }> }).rows[0]!.id,
    );
  };
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error as Error & { code?: string },
    );

  beforeAll(async () => {
    base = await freshDatabase(engine, 'query_timeout');
    const target = new URL(base.connection as string);
    proxy = new FaultProxy({ host: target.hostname, port: Number(target.port || (engine === 'mysql' ? 3306 : 5432)) });
    await proxy.start();
  });
  afterAll(async () => {
    proxy.heal();
    await Promise.all(open.map((knex) => knex.destroy().catch(() => undefined)));
    await proxy?.stop();
  });

  it('fails a statement with no answer within the limit, naming host:port, and the next statement gets a fresh connection', async () => {
    const knex = through(1);
    const before = await sessionId(knex);
    proxy.blackhole();
    const started = Date.now();
    const error = await failure(knex.raw('select 1'));
    const waited = Date.now() - started;
    expect(error?.message).toContain(`The database at 127.0.0.1:${proxy.port}/`);
    expect(error?.message).toContain('did not answer a statement within 1 s (queryTimeout)');
    expect(error?.code).toBe('ETIMEDOUT');
    // Not before the 1 s limit; an upper bound would be a speed threshold on a shared machine, and the
    // ETIMEDOUT from errand's own timer (not the kernel's, which takes minutes) already proves it fired.
    expect(waited).toBeGreaterThanOrEqual(900);
    proxy.heal();
    // The pool discarded the timed-out connection: a new session answers.
    const after = await sessionId(knex);
    expect(after).not.toBe(before);
    expect(await sessionId(knex)).toBe(after);
  });

  it('bounds a statement inside a transaction too, and the transaction fails with that error', async () => {
    const knex = through(1);
    await sessionId(knex);
    const error = await failure(
      knex.transaction(async (trx) => {
        await sessionId(trx);
        proxy.blackhole();
        await trx.raw('select 1');
      }),
    );
    proxy.heal();
    expect(error?.message).toContain('(queryTimeout)');
    expect(await sessionId(knex)).toMatch(/^\d+$/);
  });

  it('never times an idle connection, nor a transaction whose code runs between statements', async () => {
    const knex = through(1);
    const session = await sessionId(knex);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await sessionId(knex)).toBe(session);
    const inside = await knex.transaction(async (trx) => {
      const first = await sessionId(trx);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await sessionId(trx)).toBe(first);
      return first;
    });
    expect(inside).toBe(session);
  });

  it('bounds a slow statement too (the limit is on the answer, not the network), and with the limit off lets it finish', async () => {
    const slow = engine === 'mysql' ? 'select sleep(1.5) as s' : 'select pg_sleep(1.5) as s';
    const timed = await failure(through(1).raw(slow));
    expect(timed?.message).toContain('(queryTimeout)');
    // The server is reachable, only the statement is slow: the message says so, not "check the firewall".
    const described = describeDatabaseError(
      timed,
      'q',
      resolveConfig({ connections: { q: base } }, { env: {} }).connections.q as never,
      'jobs',
    ) as Error;
    expect(described.message).toMatch(
      /did not answer a statement within 1 s \(queryTimeout\); .+\. The statement was sent but no answer came in time: a slow statement or one waiting on a lock/,
    );
    expect(described.message).not.toContain('firewall');
    expect(await failure(through(false).raw(slow))).toBeUndefined();
  });
});
