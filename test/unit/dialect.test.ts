import { describe, expect, it } from 'vitest';

import { dialect, type Engine, type ServerInfo } from '../../src/drivers/database/dialect.js';
import { insertJobsSql } from '../../src/drivers/database/queries/insert-jobs.js';
import { detectServer } from '../../src/drivers/database/server-info.js';

/* What the dialect answers per engine, and what errand reads from the server's version. */

function server(engine: Engine, version: string, skipLocked: boolean): ServerInfo {
  return { engine, version, skipLocked, deleteReturning: engine !== 'mysql' };
}

describe('dialect', () => {
  it('keeps MySQL on select-then-update and locks only where the engine has locks', () => {
    expect(dialect.claimStyle('mysql')).toBe('select-then-update');
    expect(dialect.claimStyle('postgres')).toBe('update-from-locked');
    expect(dialect.claimStyle('sqlite')).toBe('update-returning');
    expect(dialect.lockClause(server('sqlite', '3', false))).toBe('');
    expect(dialect.lockClause(server('mysql', '10.5', false))).toBe('for update');
    expect(dialect.lockClause(server('postgres', '150000', true))).toBe('for update skip locked');
  });

  it('says claims wait on each other only on a server with row locks and no SKIP LOCKED', () => {
    expect(dialect.claimsWaitOnLocks(server('mysql', '10.5.22-MariaDB', false))).toBe(true);
    expect(dialect.claimsWaitOnLocks(server('postgres', '90400', false))).toBe(true);
    expect(dialect.claimsWaitOnLocks(server('mysql', '8.0.36', true))).toBe(false);
    expect(dialect.claimsWaitOnLocks(server('sqlite', '3.45.0', false))).toBe(false);
  });

  it('wakes workers by NOTIFY on PostgreSQL, by the file on SQLite, and leaves MySQL polling', () => {
    expect(dialect.wakeUpStyle('postgres')).toBe('listen-notify');
    expect(dialect.wakeUpStyle('sqlite')).toBe('watch-file');
    expect(dialect.wakeUpStyle('mysql')).toBe('poll');
    expect(dialect.insertNotifySql('postgres')).toBe('pg_notify(?, "queue")');
    expect(dialect.insertNotifySql('sqlite')).toBeUndefined();
    expect(dialect.insertNotifySql('mysql')).toBeUndefined();
  });

  it('reads each engine’s EXPLAIN rows as text', () => {
    expect(dialect.explainSql('sqlite')).toBe('explain query plan');
    expect(dialect.explainSql('mysql')).toBe('explain');
    expect(dialect.planText('sqlite', [{ detail: 'SEARCH jobs' }, { detail: 'USE TEMP B-TREE' }])).toBe(
      'SEARCH jobs\nUSE TEMP B-TREE',
    );
    expect(dialect.planText('postgres', { rows: [{ 'QUERY PLAN': 'Limit' }, { 'QUERY PLAN': '-> Index Scan' }] })).toBe(
      'Limit\n-> Index Scan',
    );
    expect(
      dialect.planText('mysql', [
        [{ table: 'jobs', type: 'range', key: 'jobs_claim_index', rows: 1, Extra: 'Using where' }],
      ]),
    ).toBe('table=jobs type=range key=jobs_claim_index rows=1 extra=Using where');
  });
});

describe('insertJobsSql', () => {
  const columns = (q: string) =>
    ['queue', 'payload', 'attempts', 'exceptions', 'reserved_at', 'reserved_by', 'available_at', 'created_at']
      .map((column) => `${q}${column}${q}`)
      .join(', ');

  it('writes one job as a plain row, returning its id and notifying only on PostgreSQL', () => {
    expect(insertJobsSql('sqlite', '"jobs"', ['delay'])).toBe(
      `insert into "jobs" (${columns('"')}) values (?, ?, 0, 0, null, null, cast(strftime('%s','now') as integer) + ?, cast(strftime('%s','now') as integer))`,
    );
    expect(insertJobsSql('mysql', '`jobs`', ['at'])).toBe(
      `insert into \`jobs\` (${columns('`')}) values (?, ?, 0, 0, null, null, ?, unix_timestamp())`,
    );
    expect(insertJobsSql('postgres', '"jobs"', ['now'])).toBe(
      `insert into "jobs" (${columns('"')}) values (?, ?, 0, 0, null, null, floor(extract(epoch from clock_timestamp()))::bigint, floor(extract(epoch from clock_timestamp()))::bigint) returning "id", pg_notify(?, "queue")`,
    );
  });

  it('reads the clock once for several rows, except on MySQL/MariaDB', () => {
    const rows = ['now', 'delay', 'at'] as const;
    expect(insertJobsSql('sqlite', '"jobs"', rows)).toBe(
      `insert into "jobs" (${columns('"')}) select v.column1, v.column2, 0, 0, null, null, coalesce(v.column4, t.now + v.column3), t.now ` +
        `from (select cast(strftime('%s','now') as integer) as now) t, (values (?, ?, 0, null), (?, ?, ?, null), (?, ?, 0, ?)) v returning "id"`,
    );
    expect(insertJobsSql('mysql', '`jobs`', rows)).toBe(
      `insert into \`jobs\` (${columns('`')}) values (?, ?, 0, 0, null, null, unix_timestamp(), unix_timestamp()), ` +
        '(?, ?, 0, 0, null, null, unix_timestamp() + ?, unix_timestamp()), (?, ?, 0, 0, null, null, ?, unix_timestamp())',
    );
    expect(insertJobsSql('postgres', '"jobs"', rows)).toBe(
      `insert into "jobs" (${columns('"')}) select v.queue, v.payload, 0, 0, null, null, v.available_at, t.now ` +
        'from (select floor(extract(epoch from clock_timestamp()))::bigint as now) t cross join lateral ' +
        '(values (?, ?, t.now), (?, ?, t.now + ?), (?, ?, ?::bigint)) v(queue, payload, available_at) returning "id", pg_notify(?, "queue")',
    );
  });
});

describe('detectServer', () => {
  const mysql = (version: string) => detectServer({ raw: async () => [[{ v: version }]] } as never, 'mysql');

  it('detects SKIP LOCKED support from the server version string', async () => {
    const cases: Array<[string, boolean]> = [
      ['10.11.19-MariaDB-0+deb12u1', true],
      ['10.6.0-MariaDB', true],
      ['10.5.22-MariaDB-log', false],
      ['5.5.5-10.4.1-MariaDB', false],
      ['8.0.36', true],
      ['8.0.0', false],
      ['5.7.44-log', false],
    ];
    for (const [version, expected] of cases) expect((await mysql(version)).skipLocked, version).toBe(expected);
    const postgres = (num: string) =>
      detectServer({ raw: async () => ({ rows: [{ server_version_num: num }] }) } as never, 'postgres');
    expect((await postgres('90500')).skipLocked).toBe(true);
    expect((await postgres('90400')).skipLocked).toBe(false);
  });

  it('deletes with RETURNING wherever the server has it (MariaDB ≥ 10.0.5, not MySQL)', async () => {
    expect((await mysql('10.11.19-MariaDB-0+deb12u1')).deleteReturning).toBe(true);
    expect((await mysql('5.5.5-10.0.5-MariaDB')).deleteReturning).toBe(true);
    expect((await mysql('5.5.5-10.0.4-MariaDB')).deleteReturning).toBe(false);
    expect((await mysql('8.4.2')).deleteReturning).toBe(false);
    const sqlite = await detectServer({ raw: async () => [{ v: '3.45.0' }] } as never, 'sqlite');
    expect(sqlite).toEqual({ engine: 'sqlite', version: '3.45.0', skipLocked: false, deleteReturning: true });
    const postgres = await detectServer(
      { raw: async () => ({ rows: [{ server_version_num: '150000' }] }) } as never,
      'postgres',
    );
    expect(postgres.deleteReturning).toBe(true);
  });
});
