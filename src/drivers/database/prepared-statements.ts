import { createHash } from 'node:crypto';

import type { Knex } from 'knex';

import type { Engine } from './dialect.js';

/** The part of a better-sqlite3 connection `runRepeated` uses. */
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}

interface SqliteStatement {
  readonly reader: boolean;
  all(bindings: ReadonlyArray<string | number>): unknown[];
  run(bindings: ReadonlyArray<string | number>): { lastInsertRowid: number | bigint };
}

/** The part of a mysql2 connection `runRepeated` uses. */
interface MysqlConnection {
  execute(
    sql: string,
    bindings: ReadonlyArray<string | number>,
    callback: (error: Error | null, result: unknown, fields: unknown) => void,
  ): void;
}

/** SQLite statements kept prepared, per connection (they die with it). */
const preparedStatements = new WeakMap<SqliteConnection, Map<string, SqliteStatement>>();
const MAX_PREPARED = 32;

/** Connections (knex clients) whose server, or a proxy or pooler in front of it, cannot keep prepared statements. */
const unprepared = new WeakSet<object>();

/** PostgreSQL prepared-statement names: one per statement text, the same on every connection. */
const statementNames = new Map<string, string>();

function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    if (statementNames.size >= MAX_PREPARED) statementNames.clear();
    name = `errand_${createHash('sha256').update(sql).digest('hex').slice(0, 32)}`;
    statementNames.set(sql, name);
  }
  return name;
}

/**
 * Runs a statement errand sends over and over (the one-row job insert, when `keep`) as a
 * prepared statement, kept on its connection: parsing and planning it for every push cost a
 * quarter of a PostgreSQL insert, a fifth of a MariaDB one, and preparing it as much as running
 * it on SQLite. Anything else, and anything inside a transaction (where knex checks the
 * transaction is still open, and a failed statement would abort it), goes through knex as any
 * query does. The prepared paths bypass knex's query events.
 */
export async function runRepeated(
  knex: Knex,
  engine: Engine,
  sql: string,
  bindings: ReadonlyArray<string | number>,
  keep: boolean,
): Promise<unknown> {
  if (!keep || knex.isTransaction || unprepared.has(knex.client)) return knex.raw(sql, bindings);
  if (engine === 'mysql') {
    const client = knex.client as {
      acquireConnection(): Promise<MysqlConnection>;
      releaseConnection(connection: MysqlConnection): Promise<unknown>;
    };
    const connection = await client.acquireConnection();
    try {
      // mysql2 keeps what it prepares on the connection, by statement text.
      return await new Promise<unknown>((resolve, reject) =>
        connection.execute(sql, bindings, (error, result, fields) =>
          error ? reject(error) : resolve([result, fields]),
        ),
      );
    } catch (error) {
      // 1295: the server, or a proxy in front of it, cannot prepare this statement.
      if ((error as { errno?: number }).errno !== 1295) throw error;
      unprepared.add(knex.client);
    } finally {
      await client.releaseConnection(connection);
    }
    return knex.raw(sql, bindings);
  }
  if (engine === 'postgres') {
    try {
      return await knex.raw(sql, bindings).options({ name: statementName(sql) });
    } catch (error) {
      // 26000: a pooler in transaction mode (PgBouncer without prepared-statement support)
      // sent it to a server that never saw it prepared; or the table changed its id's type
      // under the kept plan. Either is refused before anything runs. This connection's
      // statements go unprepared from now on.
      const { code, message } = error as { code?: string; message?: string };
      if (code !== '26000' && !(code === '0A000' && /cached plan must not change result type/.test(message ?? '')))
        throw error;
      unprepared.add(knex.client);
    }
    return knex.raw(sql, bindings);
  }
  const client = knex.client as {
    acquireConnection(): Promise<SqliteConnection>;
    releaseConnection(connection: SqliteConnection): Promise<unknown>;
  };
  const connection = await client.acquireConnection();
  try {
    let statements = preparedStatements.get(connection);
    if (!statements) preparedStatements.set(connection, (statements = new Map()));
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= MAX_PREPARED) statements.clear();
      statement = connection.prepare(sql);
      statements.set(sql, statement);
    }
    return statement.reader ? statement.all(bindings) : statement.run(bindings);
  } finally {
    await client.releaseConnection(connection);
  }
}
