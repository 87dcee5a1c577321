import { createHash } from 'node:crypto';

import type { Knex } from 'knex';

import type { DatabaseClient } from '../../config/config-types.js';
import { withoutCredentials } from '../../runtime/without-credentials.js';

/** The database engines errand speaks to. */
export type Engine = 'sqlite' | 'mysql' | 'postgres';

/** When an inserted job becomes available: at once, after some seconds, or at an instant. */
export type Availability = 'now' | 'delay' | 'at';

/** The jobs columns an insert writes, in the order its rows give them. */
const INSERT_COLUMNS = [
  'queue',
  'payload',
  'attempts',
  'exceptions',
  'reserved_at',
  'reserved_by',
  'available_at',
  'created_at',
] as const;

function quote(engine: Engine, identifier: string): string {
  return engine === 'mysql' ? `\`${identifier}\`` : `"${identifier}"`;
}

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

/** What the server told us about itself, read once per connection. */
export interface ServerInfo {
  readonly engine: Engine;
  readonly version: string;
  /** `FOR UPDATE SKIP LOCKED` works (MySQL ≥ 8.0.1, MariaDB ≥ 10.6, PostgreSQL ≥ 9.5). */
  readonly skipLocked: boolean;
}

/** The socket of a server connection, as far as errand handles it (a net.Socket or tls.TLSSocket). */
export interface DriverSocket {
  destroy(error?: Error): void;
  ref?(): unknown;
  unref?(): unknown;
}

/** Where pg's `Client` (`connection.stream`) and mysql2's `Connection` (`stream`) keep their socket. */
export interface DriverSocketHolder {
  connection?: { stream?: DriverSocket };
  stream?: DriverSocket;
}

/**
 * Every difference between SQLite, MySQL/MariaDB and PostgreSQL lives here; queries ask this
 * module instead of testing the client themselves.
 */
export const dialect = {
  engineOf(client: DatabaseClient): Engine {
    return client === 'better-sqlite3' ? 'sqlite' : client === 'mysql2' ? 'mysql' : 'postgres';
  },

  /**
   * A server connection's driver settings, with errand's defaults under the user's own: mysql2
   * reads ids and counters beyond 2^53 as strings, so none loses digits; pg gets a handshake
   * timeout of `limitMs` (0: none), since it waits for a new connection forever (mysql2 gives up
   * after 10 s) and through a black-holed network every new connection would hang with it.
   */
  driverConnection(engine: Engine, connection: Knex.Config['connection'], limitMs: number): Knex.Config['connection'] {
    if (engine === 'mysql' && typeof connection === 'object')
      return { supportBigNumbers: true, bigNumberStrings: true, ...connection } as Knex.StaticConnectionConfig;
    if (engine === 'postgres' && limitMs > 0) {
      const settings = typeof connection === 'string' ? { connectionString: connection } : connection;
      return { connectionTimeoutMillis: limitMs, ...settings } as Knex.StaticConnectionConfig;
    }
    return connection;
  },

  /**
   * The socket under a pooled driver connection (pg's `Client`, mysql2's `Connection`), to destroy
   * one that stopped answering, or to let an idle one not hold the process open. SQLite has none.
   */
  socketOf(engine: Engine, connection: DriverSocketHolder): DriverSocket | undefined {
    if (engine === 'sqlite') return undefined;
    return engine === 'postgres' ? connection.connection?.stream : connection.stream;
  },

  /**
   * The jobs-table indexes the claim and the expired-reservation check read (migration 0009).
   * MySQL/MariaDB and SQLite read `reserved_at is null` as an equality on an index prefix, so one
   * composite index gives both the ready rows and their order. PostgreSQL does not take IS NULL
   * as fixing the sort order, so it gets a partial index of the ready rows, in claim order, and a
   * small partial index of the reserved ones for the expired check.
   */
  claimIndexes(
    engine: Engine,
  ): Array<{ suffix: string; columns: string[]; where?: 'reserved_at is null' | 'reserved_at is not null' }> {
    if (engine === 'postgres') {
      return [
        { suffix: 'ready_index', columns: ['queue', 'available_at', 'id'], where: 'reserved_at is null' },
        { suffix: 'reserved_at_index', columns: ['reserved_at'], where: 'reserved_at is not null' },
      ];
    }
    return [{ suffix: 'claim_index', columns: ['queue', 'reserved_at', 'available_at', 'id'] }];
  },

  /** The engine a knex instance (or transaction) talks to, if it is one errand knows. */
  engineOfKnex(knex: Knex): Engine | undefined {
    const name = (knex as unknown as { client?: { dialect?: string } }).client?.dialect;
    if (name === 'sqlite3' || name === 'better-sqlite3') return 'sqlite';
    if (name === 'mysql' || name === 'mysql2') return 'mysql';
    if (name === 'postgresql' || name === 'postgres' || name === 'pg') return 'postgres';
    return undefined;
  },

  /**
   * SQL for the database clock in unix seconds. Time always comes from the database, never from
   * comparing the clocks of the machines that push and work.
   */
  nowSql(engine: Engine): string {
    switch (engine) {
      case 'sqlite':
        return "cast(strftime('%s','now') as integer)";
      case 'mysql':
        return 'unix_timestamp()';
      case 'postgres':
        return 'floor(extract(epoch from clock_timestamp()))::bigint';
    }
  },

  /**
   * The database clock for the claim's search. PostgreSQL's clock_timestamp() is volatile, so
   * the planner cannot use it as an index bound: with no job due, the claim would read every
   * delayed row's index entry. now() is fixed for the statement (the claim is one statement, or
   * a short transaction), so it bounds the index range.
   */
  claimNowSql(engine: Engine): string {
    return engine === 'postgres' ? 'floor(extract(epoch from now()))::bigint' : this.nowSql(engine);
  },

  /**
   * Rows per multi-row INSERT: SQLite allows at most 500 terms in a compound SELECT (a VALUES
   * list read as a table is one); the others are limited by bound parameters and packet size.
   */
  maxRowsPerInsert(engine: Engine): number {
    return engine === 'sqlite' ? 500 : 1000;
  },

  /**
   * The INSERT of jobs into `table` (already quoted), one row per entry of `rows`. Each row binds
   * its queue and payload, then its delay in seconds (`delay`) or its unix instant (`at`);
   * PostgreSQL's statement binds the NOTIFY channel last. `available_at` and `created_at` come
   * from the database clock. Ids come back through `insertedIds`.
   *
   * One row is a plain VALUES row. Several rows read the clock once, in a subquery, and select
   * from a VALUES list holding only what varies: parsing and evaluating the clock expression for
   * every row made a 1,000-row statement several times slower on SQLite and PostgreSQL. MySQL
   * and MariaDB spell a VALUES table differently from each other, so they keep plain rows.
   * PostgreSQL notifies in the same statement, from its RETURNING list (a CTE around the insert
   * cost more): listening workers wake as soon as the insert commits (and hear nothing if it
   * rolls back); notifications repeated in one transaction are folded by the server.
   */
  insertJobsSql(engine: Engine, table: string, rows: readonly Availability[]): string {
    const now = this.nowSql(engine);
    const columns = `(${INSERT_COLUMNS.map((column) => quote(engine, column)).join(', ')})`;
    const id = quote(engine, 'id');
    if (rows.length === 1 || engine === 'mysql') {
      const values = rows
        .map(
          (kind) => `(?, ?, 0, 0, null, null, ${kind === 'now' ? now : kind === 'delay' ? `${now} + ?` : '?'}, ${now})`,
        )
        .join(', ');
      const insert = `insert into ${table} ${columns} values ${values}`;
      // One SQLite row reports its id as the last insert rowid.
      if (engine === 'mysql' || (engine === 'sqlite' && rows.length === 1)) return insert;
      return `${insert} returning ${id}, pg_notify(?, ${quote(engine, 'queue')})`;
    }
    if (engine === 'sqlite') {
      // SQLite names a VALUES table's columns column1, column2 …: queue, payload, delay, instant.
      const values = rows
        .map((kind) => (kind === 'now' ? '(?, ?, 0, null)' : kind === 'delay' ? '(?, ?, ?, null)' : '(?, ?, 0, ?)'))
        .join(', ');
      return (
        `insert into ${table} ${columns} select v.column1, v.column2, 0, 0, null, null, coalesce(v.column4, t.now + v.column3), t.now ` +
        `from (select ${now} as now) t, (values ${values}) v returning ${id}`
      );
    }
    // A lateral VALUES list reads the clock of the subquery before it.
    const values = rows
      .map((kind) => `(?, ?, ${kind === 'now' ? 't.now' : kind === 'delay' ? 't.now + ?' : '?::bigint'})`)
      .join(', ');
    return (
      `insert into ${table} ${columns} select v.queue, v.payload, 0, 0, null, null, v.available_at, t.now ` +
      `from (select ${now} as now) t cross join lateral (values ${values}) v(queue, payload, available_at) ` +
      `returning ${id}, pg_notify(?, ${quote(engine, 'queue')})`
    );
  },

  /**
   * The ids an `insertJobsSql` statement of `count` rows stored, in input order. MySQL returns
   * the first id of a multi-row insert; the rest follow it consecutively.
   */
  insertedIds(engine: Engine, result: unknown, count: number): string[] {
    if (engine === 'mysql') {
      const first = Number((result as [{ insertId: number | string }])[0].insertId);
      return Array.from({ length: count }, (_, i) => String(first + i));
    }
    if (engine === 'sqlite' && !Array.isArray(result))
      return [String((result as { lastInsertRowid: number | bigint }).lastInsertRowid)];
    return this.rows<{ id: number | string }>(engine, result).map((row) => String(row.id));
  },

  /**
   * Runs a statement errand sends over and over (the one-row job insert, when `keep`) as a
   * prepared statement, kept on its connection: parsing and planning it for every push cost a
   * quarter of a PostgreSQL insert, a fifth of a MariaDB one, and preparing it as much as running
   * it on SQLite. Anything else, and anything inside a transaction (where knex checks the
   * transaction is still open, and a failed statement would abort it), goes through knex as any
   * query does. The prepared paths bypass knex's query events.
   */
  async runRepeated(
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
  },

  /** Whether an `insertJobsSql` statement binds the NOTIFY channel after its rows. */
  insertNotifies(engine: Engine): boolean {
    return engine === 'postgres';
  },

  /**
   * The lease fence over many jobs as one condition on (id, attempts): the holder's token is
   * matched beside it, and the attempt the claim counted makes a write about a job that was swept
   * and claimed again (even by the same worker) match nothing. PostgreSQL takes the pairs
   * as two arrays, so a batch of hundreds is one short statement with one plan; an OR of pairs
   * made it plan and probe hundreds of index scans.
   */
  fenceSql(
    engine: Engine,
    jobs: ReadonlyArray<{ id: string; attempts: number }>,
  ): { sql: string; bindings: Array<string | number> } {
    if (engine === 'postgres') {
      // Array literals, not JS arrays: knex would spread an array binding into a list. Ids are
      // the table's integers and attempts are integers, so the literal needs no quoting.
      const ids = jobs.map((job) => String(BigInt(job.id))).join(',');
      const attempts = jobs.map((job) => Math.trunc(job.attempts)).join(',');
      return {
        sql: '(id, attempts) in (select * from unnest(?::bigint[], ?::integer[]))',
        bindings: [`{${ids}}`, `{${attempts}}`],
      };
    }
    // The id list lets the primary key find the rows; the pairs then check each one's attempt.
    // SQLite takes a multi-column IN only from a subquery, so its pairs are a VALUES table.
    const ids = jobs.map(() => '?').join(', ');
    const pairs = jobs.map(() => '(?, ?)').join(', ');
    const bindings: Array<string | number> = jobs.map((job) => job.id);
    for (const job of jobs) bindings.push(job.id, job.attempts);
    return {
      sql: `id in (${ids}) and (id, attempts) in (${engine === 'sqlite' ? `values ${pairs}` : pairs})`,
      bindings,
    };
  },

  /**
   * SQL true when the text `?` occurs in `column`, byte for byte: LIKE ignores case on SQLite
   * (ASCII) and under MySQL/MariaDB's usual collations, so a uuid differing only in case would
   * read as already listed. A binary operand makes MySQL's INSTR compare bytes.
   */
  containsSql(engine: Engine, column: string): string {
    if (engine === 'postgres') return `strpos(${column}, ?) > 0`;
    return engine === 'mysql' ? `instr(${column}, cast(? as binary)) > 0` : `instr(${column}, ?) > 0`;
  },

  /** SQL joining string expressions (MySQL's `||` is a logical or). */
  concatSql(engine: Engine, parts: readonly string[]): string {
    return engine === 'mysql' ? `concat(${parts.join(', ')})` : parts.join(' || ');
  },

  /**
   * How the claim is written. PostgreSQL and SQLite update and return in one statement; MySQL
   * and MariaDB have no UPDATE … RETURNING, so they lock with a SELECT and update by id in one
   * short transaction.
   */
  claimStyle(engine: Engine): 'update-returning' | 'select-then-update' {
    return engine === 'mysql' ? 'select-then-update' : 'update-returning';
  },

  /** The row lock for the claim's SELECT. SQLite has a single writer and needs none. */
  lockClause(info: ServerInfo): string {
    if (info.engine === 'sqlite') return '';
    return info.skipLocked ? 'for update skip locked' : 'for update';
  },

  /**
   * Whether `DELETE … RETURNING` works: PostgreSQL, SQLite ≥ 3.35 (every better-sqlite3 12) and
   * MariaDB ≥ 10.0.5; MySQL has none and reads the rows first, inside a transaction.
   */
  deleteReturns(info: ServerInfo): boolean {
    if (info.engine !== 'mysql') return true;
    const mariadb = /(\d+)\.(\d+)\.(\d+)-MariaDB/i.exec(info.version);
    return mariadb !== null && atLeast(mariadb, [10, 0, 5]);
  },

  /**
   * Run on each new pooled connection. InnoDB's default REPEATABLE READ makes the claim's and the
   * finishing writes' index scans take gap locks, and an application inserting jobs inside its own
   * transaction then deadlocks with the workers (error 1213, its whole transaction rolled back).
   * errand's statements lock exactly the rows they name and need no snapshot across statements,
   * so its sessions read committed, as PostgreSQL's do by default.
   */
  sessionSetupSql(engine: Engine): string | undefined {
    return engine === 'mysql' ? 'set session transaction isolation level read committed' : undefined;
  },

  /** Reads the server's engine and version; knex itself emits SKIP LOCKED without checking. */
  async detect(knex: Knex, engine: Engine): Promise<ServerInfo> {
    if (engine === 'sqlite') {
      const rows = (await knex.raw('select sqlite_version() as v')) as Array<{ v: string }>;
      return { engine, version: rows[0]?.v ?? 'unknown', skipLocked: false };
    }
    if (engine === 'mysql') {
      const [rows] = (await knex.raw('select version() as v')) as [Array<{ v: string }>];
      const version = rows[0]?.v ?? '';
      return { engine, version, skipLocked: mysqlSupportsSkipLocked(version) };
    }
    const result = (await knex.raw('show server_version_num')) as { rows: Array<{ server_version_num: string }> };
    const num = Number(result.rows[0]?.server_version_num ?? 0);
    return { engine, version: String(num), skipLocked: num >= 90500 };
  },

  /**
   * An INSERT (`rest` is `into … values …`) that skips a row whose unique key is already taken,
   * without an error, so the affected count says whether the row went in. MySQL/MariaDB's
   * `insert ignore` also turns other errors into warnings: callers check their values first.
   */
  insertIgnoringDuplicates(engine: Engine, rest: string): string {
    return engine === 'mysql' ? `insert ignore ${rest}` : `insert ${rest} on conflict do nothing`;
  },

  /**
   * The column type of a key of up to `length` characters compared byte for byte, when the
   * engine's strings are not: MySQL and MariaDB compare them case-insensitively and ignore
   * trailing spaces (even under `_bin` collations, which pad), which would make the lock keys
   * `user:Ann` and `user:ann ` one lock. VARBINARY compares every byte; it is sized for UTF-8 at
   * four bytes a character. Undefined: a plain string column.
   */
  exactKeyColumn(engine: Engine, length: number): string | undefined {
    return engine === 'mysql' ? `varbinary(${length * 4})` : undefined;
  },

  /**
   * Makes the identifier `columns` of `table` (queue names, uuids, connection names, keys, ids)
   * compare exactly (migration 0010), or, with `exact` false, gives them back the table's default
   * collation. MySQL and MariaDB compare strings by collation, and their defaults
   * (utf8mb4_general_ci, utf8mb4_0900_ai_ci, utf8mb4_uca1400_ai_ci) ignore case, accents and
   * trailing spaces: `--queue=MAIL` took `mail`, `mail ` and `mäil`. Each column keeps its type,
   * character set and nullability and takes its character set's binary NO PAD collation
   * (MariaDB ≥ 10.2 `utf8mb4_nopad_bin`, MySQL 8 `utf8mb4_0900_bin`), else its plain `_bin` one
   * (MySQL 5.7: exact but for trailing spaces). Keeping the character set keeps every index's
   * size, and one ALTER rebuilds the indexes with the new comparison. SQLite compares with BINARY
   * and PostgreSQL with deterministic collations, both byte for byte: nothing to do there.
   */
  async exactIdentifierColumns(knex: Knex, table: string, columns: readonly string[], exact = true): Promise<void> {
    if (this.engineOfKnex(knex) !== 'mysql') return;
    const [found] = (await knex.raw(
      'select column_name as name, column_type as type, character_set_name as charset, collation_name as collation, is_nullable as nullable ' +
        'from information_schema.columns where table_schema = database() and table_name = ?',
      [table],
    )) as [Array<{ name: string; type: string; charset: string | null; collation: string | null; nullable: string }>];
    const [[tableInfo]] = (await knex.raw(
      'select table_collation as collation from information_schema.tables where table_schema = database() and table_name = ?',
      [table],
    )) as [[{ collation: string | null } | undefined]];
    const changes: string[] = [];
    for (const column of found.filter((c) => columns.includes(c.name) && c.charset !== null)) {
      const charset = column.charset!;
      const collation = exact
        ? await exactCollation(knex, charset)
        : tableInfo?.collation?.startsWith(`${charset}_`)
          ? tableInfo.collation
          : undefined;
      if (collation === undefined || collation === column.collation) continue;
      const nullability = column.nullable === 'YES' ? 'null' : 'not null';
      changes.push(
        `modify ${quote('mysql', column.name)} ${column.type} character set ${charset} collate ${collation} ${nullability}`,
      );
    }
    if (changes.length > 0) await knex.raw(`alter table ${quote('mysql', table)} ${changes.join(', ')}`);
  },

  /** Rows of a raw query, whatever shape the client returns them in. */
  rows<T>(engine: Engine, result: unknown): T[] {
    if (engine === 'sqlite') return result as T[];
    if (engine === 'mysql') return (result as [T[]])[0];
    return (result as { rows: T[] }).rows;
  },

  /** Rows changed by a raw UPDATE/DELETE. */
  affected(engine: Engine, result: unknown): number {
    if (engine === 'sqlite') return Number((result as { changes?: number }).changes ?? 0);
    if (engine === 'mysql') return Number((result as [{ affectedRows?: number }])[0]?.affectedRows ?? 0);
    return Number((result as { rowCount?: number }).rowCount ?? 0);
  },

  /** The table in a "no such table" error, if that is what it is. */
  isMissingTable(error: unknown): boolean {
    const e = error as { code?: string; errno?: number; message?: string };
    return e?.code === 'ER_NO_SUCH_TABLE' || e?.code === '42P01' || /no such table/i.test(e?.message ?? '');
  },

  /**
   * The statement that bounds how long the connection's later statements wait for another
   * process's lock, where that wait blocks the thread: better-sqlite3 waits synchronously, so no
   * timer of the thread can fire meanwhile. The servers' drivers wait asynchronously: none.
   */
  lockWaitSql(engine: Engine, ms: number): string | undefined {
    return engine === 'sqlite' ? `pragma busy_timeout = ${Math.max(0, Math.floor(ms))}` : undefined;
  },

  /** A lock conflict worth one more try: deadlock, lock wait timeout, SQLite busy. */
  isRetryableLock(error: unknown): boolean {
    const e = error as { code?: string; message?: string };
    return (
      e?.code === 'ER_LOCK_DEADLOCK' ||
      e?.code === 'ER_LOCK_WAIT_TIMEOUT' ||
      e?.code === '40P01' ||
      e?.code === '55P03' ||
      e?.code === 'SQLITE_BUSY'
    );
  },

  /**
   * The server could not be reached, or refused us, as opposed to a bad query. Timeouts count:
   * through a network that drops packets silently, nothing is refused or reset, and the only sign
   * is a timer running out (pg's connect timeout, mysql2's, knex's wait for a pooled connection).
   * An error that wraps one of these (its `cause`) is one too.
   */
  isConnectionError(error: unknown): boolean {
    let each = error;
    for (let depth = 0; depth < 4 && each !== undefined && each !== null; depth++) {
      if (isDriverConnectionError(each)) return true;
      each = (each as { cause?: unknown }).cause;
    }
    return false;
  },

  /**
   * What to check, for a connection error whose driver code says why (refused, unknown host,
   * bad credentials, unknown database, a file SQLite cannot open); undefined when it does not.
   */
  connectionErrorHint(error: unknown): string | undefined {
    let each = error;
    for (let depth = 0; depth < 4 && each !== undefined && each !== null; depth++) {
      // Before the codes: errand's own statement timeout reads as ETIMEDOUT, but the server did answer the connection.
      if (statementTimeouts.has(each as object)) return STATEMENT_TIMEOUT_HINT;
      const hint = CONNECTION_ERROR_HINTS.find(([codes]) =>
        codes.includes((each as { code?: string }).code ?? ''),
      )?.[1];
      if (hint) return hint;
      each = (each as { cause?: unknown }).cause;
    }
    return undefined;
  },

  /**
   * The error of a statement that got no answer within the connection's `queryTimeout`. Its code
   * is ETIMEDOUT, so it counts as an unreachable database (waited out, retried), but its hint is
   * its own: the server may well be reachable and only slow, or the statement waiting on a lock.
   */
  statementTimeoutError(target: string, seconds: number): Error & { code: string } {
    const error = Object.assign(
      new Error(
        `The database at ${target} did not answer a statement within ${seconds} s (queryTimeout); its connection was closed and a new one will be opened.`,
      ),
      { code: 'ETIMEDOUT' },
    );
    statementTimeouts.add(error);
    return error;
  },

  /**
   * Where a connection points, for error messages: host:port/database, or the SQLite file. Never
   * a password: a URL that does not parse (a `#` or `/` left unencoded in the password, an empty
   * host) is printed with its user info and any `password=` parameter masked.
   */
  describeTarget(client: DatabaseClient, connection: string | Knex.StaticConnectionConfig): string {
    if (typeof connection === 'string') {
      try {
        const url = new URL(connection);
        const port = url.port || (client === 'pg' ? '5432' : '3306');
        // pg's `postgres:///app?host=/var/run/postgresql`: the host (or socket directory) is a parameter.
        const host = url.hostname || url.searchParams.get('host') || 'localhost';
        return `${host}:${port}${url.pathname}`;
      } catch {
        return withoutCredentials(connection);
      }
    }
    const c = connection as {
      filename?: string;
      host?: string;
      port?: number;
      database?: string;
      connectionString?: string;
    };
    if (client === 'better-sqlite3') return c.filename ?? '(no file)';
    if (c.connectionString) return dialect.describeTarget(client, c.connectionString);
    const port = c.port ?? (client === 'pg' ? 5432 : 3306);
    return `${c.host ?? 'localhost'}:${port}${c.database ? `/${c.database}` : ''}`;
  },

  /**
   * SQL for the database clock minus `?` whole seconds, comparable with a `timestamp` column
   * (failed_jobs.failed_at). SQLite keeps CURRENT_TIMESTAMP as UTC text 'YYYY-MM-DD HH:MM:SS',
   * which datetime() returns too, so the text comparison orders correctly.
   */
  timestampSecondsAgoSql(engine: Engine): string {
    switch (engine) {
      case 'sqlite':
        return "datetime('now', '-' || ? || ' seconds')";
      case 'mysql':
        return 'current_timestamp - interval ? second';
      case 'postgres':
        return "current_timestamp - (?::integer * interval '1 second')";
    }
  },

  /**
   * The database clock in unix MILLISECONDS, one value for the whole statement, for the rate-limit
   * windows: a window lasts its length from its first hit, so whole seconds (which end a window
   * at the next clock second, up to a second early) will not do. Every read in one statement
   * agrees, so the upsert's CASEs agree on whether the window ended. PostgreSQL's now() is fixed
   * at the transaction's start (for one autocommit statement, the statement's); SQLite's 'now' is
   * fixed per statement, and its '%f' gives the seconds with milliseconds; MySQL/MariaDB's NOW(3)
   * and UNIX_TIMESTAMP() both read the statement's start, and taking only the fraction from NOW(3)
   * keeps the session time zone out (UNIX_TIMESTAMP(NOW(3)) converts back through it, and can be
   * an hour off in a DST fall-back hour).
   */
  statementNowMsSql(engine: Engine): string {
    switch (engine) {
      case 'sqlite':
        return "(cast(strftime('%s','now') as integer) * 1000 + cast(substr(strftime('%f','now'), 4) as integer))";
      case 'mysql':
        return '(unix_timestamp() * 1000 + floor(microsecond(now(3)) / 1000))';
      case 'postgres':
        return 'floor(extract(epoch from now()) * 1000)::bigint';
    }
  },

  /**
   * How a counter upsert hands back the new count: `on conflict … do update … returning`
   * (PostgreSQL, SQLite ≥ 3.35), or MySQL/MariaDB's `on duplicate key update` with
   * LAST_INSERT_ID(expr), whose value the statement's own result carries.
   */
  counterUpsertStyle(engine: Engine): 'on-conflict' | 'on-duplicate-key' {
    return engine === 'mysql' ? 'on-duplicate-key' : 'on-conflict';
  },
};

/** A MySQL/MariaDB character set's exact collation: binary NO PAD where the server has one. */
async function exactCollation(knex: Knex, charset: string): Promise<string | undefined> {
  const wanted = [`${charset}_nopad_bin`, `${charset}_0900_bin`, `${charset}_bin`];
  const [rows] = (await knex.raw(
    'select collation_name as name from information_schema.collations where collation_name in (?, ?, ?)',
    wanted,
  )) as [Array<{ name: string }>];
  const names = new Set(rows.map((row) => row.name.toLowerCase()));
  return wanted.find((name) => names.has(name.toLowerCase()));
}

function mysqlSupportsSkipLocked(version: string): boolean {
  const mariadb = /(\d+)\.(\d+)\.(\d+)-MariaDB/i.exec(version);
  if (mariadb) return atLeast(mariadb, [10, 6, 0]);
  const mysql = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return mysql ? atLeast(mysql, [8, 0, 1]) : false;
}

function atLeast(match: RegExpExecArray, wanted: [number, number, number]): boolean {
  const have = [Number(match[1]), Number(match[2]), Number(match[3])];
  for (let i = 0; i < 3; i++) {
    if (have[i]! !== wanted[i]!) return have[i]! > wanted[i]!;
  }
  return true;
}

/** Error codes of the drivers (and the servers, through them) that mean unreachable or refused. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENETUNREACH',
  'ENETDOWN',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  '08000',
  '08001',
  '08003',
  '08006',
  '57P02',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'ER_ACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
  'ER_BAD_DB_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  '28P01',
  '28000',
  '3D000',
  '57P01',
  '57P03',
  'SQLITE_CANTOPEN',
]);

/** What to check per driver code (mysql2, pg, better-sqlite3, Node's sockets), for `connectionErrorHint`. */
const statementTimeouts = new WeakSet<object>();

const STATEMENT_TIMEOUT_HINT =
  'The statement was sent but no answer came in time: a slow statement or one waiting on a lock, or a connection that died mid-statement. ' +
  "If statements may rightly take that long, raise the connection's queryTimeout (seconds; 0 turns the limit off).";

const CONNECTION_ERROR_HINTS: Array<[codes: string[], hint: string]> = [
  [['ECONNREFUSED'], 'Nothing accepts connections there: is the server running, and are the host and port right?'],
  [['ENOTFOUND', 'EAI_AGAIN'], 'The host name does not resolve: check the host in the connection.'],
  [
    ['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN'],
    'The server did not answer: check the host, the port and any firewall between.',
  ],
  [
    ['ER_ACCESS_DENIED_ERROR', 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR', 'ER_DBACCESS_DENIED_ERROR', '28P01', '28000'],
    'Check the user and password in the connection, and what the server grants them.',
  ],
  [['ER_BAD_DB_ERROR', '3D000'], 'Create the database, or fix its name in the connection.'],
  [['SQLITE_CANTOPEN'], 'Check that the file name is right and its directory writable.'],
];

/** A driver's own error for a server it cannot reach or talk to (see `dialect.isConnectionError`). */
function isDriverConnectionError(error: unknown): boolean {
  const e = error as { code?: string; message?: string; name?: string } | undefined;
  return (
    CONNECTION_ERROR_CODES.has(e?.code ?? '') ||
    // knex gave up waiting for a pooled connection: every one is stuck, or none could be opened.
    e?.name === 'KnexTimeoutError' ||
    // mysql2 marks errors that kill the connection `fatal`; pg and mysql2 word a dropped or
    // closed socket these ways without a code.
    (e as { fatal?: unknown })?.fatal === true ||
    // pg's connect timeout (connectionTimeoutMillis, which errand sets from queryTimeout) is a
    // bare Error with these words and nothing else: the handshake got no answer.
    /^timeout expired$/.test(e?.message ?? '') ||
    /Connection terminated|connect ECONNREFUSED|Timeout acquiring a connection|closed state|Connection lost|socket hang up|write after end|Client has encountered a connection error|Client was closed and is not queryable|Query read timeout|timeout exceeded when trying to connect/i.test(
      e?.message ?? '',
    )
  );
}
