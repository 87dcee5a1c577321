import type { Knex } from 'knex';

import type { DatabaseClient } from '../../config/config-types.js';

/** The database engines errand speaks to. */
export type Engine = 'sqlite' | 'mysql' | 'postgres';

/**
 * What the server told us about itself, read once per connection (server-info.ts): the answers
 * that depend on the server's version, not only on its engine.
 */
export interface ServerInfo {
  readonly engine: Engine;
  readonly version: string;
  /** `FOR UPDATE SKIP LOCKED` works (MySQL ≥ 8.0.1, MariaDB ≥ 10.6, PostgreSQL ≥ 9.5). */
  readonly skipLocked: boolean;
  /** `DELETE … RETURNING` works: PostgreSQL, SQLite ≥ 3.35 and MariaDB ≥ 10.0.5, not MySQL. */
  readonly deleteReturning: boolean;
}

/**
 * How the SQL of SQLite, MySQL/MariaDB and PostgreSQL differs, and how their drivers hand back
 * results: queries ask the dialect instead of testing the engine themselves. Opening a
 * connection is connection.ts's business, reading a driver's errors database-error.ts's, the
 * server's version server-info.ts's and keeping statements prepared prepared-statements.ts's.
 */
export const dialect = {
  engineOf(client: DatabaseClient): Engine {
    return client === 'better-sqlite3' ? 'sqlite' : client === 'mysql2' ? 'mysql' : 'postgres';
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

  /** An identifier quoted for the engine: MySQL's backticks, the standard's double quotes elsewhere. */
  quote(engine: Engine, identifier: string): string {
    return engine === 'mysql' ? `\`${identifier}\`` : `"${identifier}"`;
  },

  /**
   * How a job insert of several rows reads the database clock once for all of them (one row is
   * a plain VALUES row everywhere): parsing and evaluating the clock expression for every row made
   * a 1,000-row statement several times slower on SQLite and PostgreSQL. SQLite selects from a
   * VALUES table (whose columns it names column1, column2 …) beside a one-row clock subquery;
   * PostgreSQL reads the clock in the subquery and joins a LATERAL VALUES list to it. MySQL and
   * MariaDB spell a VALUES table differently from each other, so they keep plain rows.
   */
  multiRowInsertStyle(engine: Engine): 'plain-rows' | 'values-table' | 'lateral-values' {
    if (engine === 'mysql') return 'plain-rows';
    return engine === 'sqlite' ? 'values-table' : 'lateral-values';
  },

  /**
   * Whether an insert of `rows` rows hands its ids back in a RETURNING list. MySQL/MariaDB report
   * the statement's first id, and one SQLite row its last insert rowid (see `insertedIds`).
   */
  insertReturnsIds(engine: Engine, rows: number): boolean {
    return engine !== 'mysql' && !(engine === 'sqlite' && rows === 1);
  },

  /**
   * The RETURNING-list term of a job insert that wakes listening workers, binding the channel
   * after the rows: PostgreSQL's pg_notify of each row's queue, in the same statement (a CTE
   * around the insert cost more). Workers hear it as soon as the insert commits, and nothing if it
   * rolls back; the server folds repeats in one transaction. Undefined where the engine has no
   * push channel (see `wakeUpStyle`).
   */
  insertNotifySql(engine: Engine): string | undefined {
    return engine === 'postgres' ? `pg_notify(?, ${this.quote(engine, 'queue')})` : undefined;
  },

  /**
   * How a worker hears that a job may have been pushed: PostgreSQL's LISTEN/NOTIFY (with the
   * queue), SQLite's file watched for other processes' writes (any queue); MySQL/MariaDB have no
   * push channel and poll.
   */
  wakeUpStyle(engine: Engine): 'listen-notify' | 'watch-file' | 'poll' {
    if (engine === 'postgres') return 'listen-notify';
    return engine === 'sqlite' ? 'watch-file' : 'poll';
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
   * How the claim is written. MySQL and MariaDB have no UPDATE … RETURNING, so they lock with a
   * SELECT and update by id in one short transaction. PostgreSQL locks the candidates in a CTE and
   * updates and returns them in the same statement. SQLite updates and returns the rows a subquery
   * picks: one statement is atomic under its single writer.
   */
  claimStyle(engine: Engine): 'select-then-update' | 'update-from-locked' | 'update-returning' {
    if (engine === 'mysql') return 'select-then-update';
    return engine === 'postgres' ? 'update-from-locked' : 'update-returning';
  },

  /** The row lock for the claim's SELECT. SQLite has a single writer and needs none. */
  lockClause(info: ServerInfo): string {
    if (info.engine === 'sqlite') return '';
    return info.skipLocked ? 'for update skip locked' : 'for update';
  },

  /** Whether concurrent claims wait on each other: the server locks rows but cannot skip locked ones. */
  claimsWaitOnLocks(info: ServerInfo): boolean {
    return info.engine !== 'sqlite' && !info.skipLocked;
  },

  /** The statement that asks for a query's plan: `EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` elsewhere. */
  explainSql(engine: Engine): string {
    return engine === 'sqlite' ? 'explain query plan' : 'explain';
  },

  /** The plan an `explainSql` statement returned, as text, one line per step. */
  planText(engine: Engine, result: unknown): string {
    const rows = this.rows<Record<string, unknown>>(engine, result);
    if (engine === 'sqlite') return rows.map((row) => String(row.detail)).join('\n');
    if (engine === 'postgres') return rows.map((row) => String(row['QUERY PLAN'])).join('\n');
    return rows
      .map(
        (row) =>
          `table=${String(row.table)} type=${String(row.type)} key=${String(row.key)} rows=${String(row.rows)} extra=${String(row.Extra)}`,
      )
      .join('\n');
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
        `modify ${this.quote('mysql', column.name)} ${column.type} character set ${charset} collate ${collation} ${nullability}`,
      );
    }
    if (changes.length > 0) await knex.raw(`alter table ${this.quote('mysql', table)} ${changes.join(', ')}`);
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

  /**
   * The statement that bounds how long the connection's later statements wait for another
   * process's lock, where that wait blocks the thread: better-sqlite3 waits synchronously, so no
   * timer of the thread can fire meanwhile. The servers' drivers wait asynchronously: none.
   */
  lockWaitSql(engine: Engine, ms: number): string | undefined {
    return engine === 'sqlite' ? `pragma busy_timeout = ${Math.max(0, Math.floor(ms))}` : undefined;
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
   * The statement that gives `column` of `table` (bindings) back its text default `''` after
   * `exactIdentifierColumns` changed its collation: MySQL/MariaDB's MODIFY restates the whole
   * column and drops a default it does not repeat. Elsewhere that step changed nothing: none.
   */
  restoreEmptyDefaultSql(engine: Engine): string | undefined {
    return engine === 'mysql' ? "alter table ?? alter column ?? set default ''" : undefined;
  },

  /**
   * SQL for the text at top-level key `key` of the JSON held in text column `column`, or null when
   * the text is not JSON or lacks the key. SQLite and MySQL/MariaDB parse it, guarded by
   * json_valid (an unguarded parse of a foreign payload would fail the whole statement).
   * PostgreSQL before 16 has no way to test text for JSON without raising, so it reads the first
   * `"key": "…"` pair with a regular expression, escapes left as the JSON wrote them: compare
   * with `jsonTextValue(value)`.
   */
  jsonTextSql(engine: Engine, column: string, key: string): string {
    if (!/^\w+$/.test(key)) throw new RangeError(`jsonTextSql: the key ${JSON.stringify(key)} is not a plain word.`);
    switch (engine) {
      case 'sqlite':
        return `(case when json_valid(${column}) then json_extract(${column}, '$.${key}') end)`;
      case 'mysql':
        return `(case when json_valid(${column}) then json_unquote(json_extract(${column}, '$.${key}')) end)`;
      case 'postgres':
        // No `?` in the pattern: knex would read it as a binding.
        return `substring(${column} from '"${key}"\\s*:\\s*"(([^"\\\\]|\\\\.)*)"')`;
    }
  },

  /** The value `jsonTextSql` yields for a key holding the string `value`, on the engine. */
  jsonTextValue(engine: Engine, value: string): string {
    return engine === 'postgres' ? JSON.stringify(value).slice(1, -1) : value;
  },

  /**
   * SQL true when top-level key `key` of the JSON in `column` holds the string `value`. On
   * PostgreSQL a plain substring test of the quoted value runs first: the regular expression cost
   * several times more per row, and most rows of a window fail the cheap test.
   */
  jsonTextEqualsSql(engine: Engine, column: string, key: string, value: string): { sql: string; bindings: string[] } {
    const equals = `${this.jsonTextSql(engine, column, key)} = ?`;
    const text = this.jsonTextValue(engine, value);
    if (engine !== 'postgres') return { sql: equals, bindings: [text] };
    return { sql: `strpos(${column}, ?) > 0 and ${equals}`, bindings: [`"${text}"`, text] };
  },

  /**
   * A loose index walk: the distinct values of `column` among the rows of `??` that match
   * `condition` (bindings: the table and the condition's, then both again), in order, found by
   * one index seek per value instead of reading every row (the engines' DISTINCT and GROUP BY
   * read them all; none of the three skip-scans a B-tree for it). A recursive CTE asks for the
   * least value above the last one found until none is left; the condition must name a prefix of
   * an index that leads with `column` (after any equality columns).
   */
  looseWalkSql(column: string, condition: string): string {
    const next = (after: string) => `(select ${column} from ?? where ${condition}${after} order by ${column} limit 1)`;
    return (
      `with recursive walk(v) as (select ${next('')} union all ` +
      `select ${next(` and ${column} > walk.v`)} from walk where walk.v is not null) ` +
      'select v from walk where v is not null'
    );
  },

  /**
   * The tail of an INSERT that, where a row with the same `keys` exists, adds the new row's
   * `added` columns to it instead of failing: the metrics rollup's write, which many workers make
   * to the same row without reading it. PostgreSQL and SQLite name the inserted row `excluded`
   * (PostgreSQL wants the existing row's columns qualified by the table); MySQL/MariaDB read it
   * with VALUES(), which MySQL 8.0.20+ deprecates but still runs and MariaDB keeps.
   */
  addingUpsertSql(engine: Engine, table: string, keys: readonly string[], added: readonly string[]): string {
    const q = (identifier: string) => this.quote(engine, identifier);
    if (engine === 'mysql')
      return `on duplicate key update ${added.map((c) => `${q(c)} = ${q(c)} + values(${q(c)})`).join(', ')}`;
    const sets = added.map((c) => `${q(c)} = ${q(table)}.${q(c)} + excluded.${q(c)}`).join(', ');
    return `on conflict (${keys.map(q).join(', ')}) do update set ${sets}`;
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
