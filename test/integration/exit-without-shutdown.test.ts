import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import knexFactory from 'knex';
import { expect, it } from 'vitest';

import type { DatabaseConnectionConfig } from '../../src/config/config-types.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { ROOT } from '../helpers/run-cli.js';

/** Far past any prompt exit: reaching it means the process hangs. It is not a measure of speed. */
const HANG_MS = 120_000;

const dist = (file: string) => pathToFileURL(path.join(ROOT, 'dist', file)).href;

/**
 * A script as an application writes it: boots, migrates, dispatches, and never calls
 * shutdown(). At exit it prints the pool's idle connections: still there means the process ended
 * because nothing was left to do, not because the pool had reaped them first. With SLOW_SQL it
 * then waits on the server, which must keep the process alive until the answer comes.
 */
const SCRIPT = `
import { Job, Queueable, boot, runMigrations } from '${dist('index.js')}';
import { runtime } from '${dist('runtime/current.js')}';

const ExitPing = Job({ name: 'ExitPing' })(class ExitPing extends Queueable { async handle() {} });
await boot({ default: 'database', connections: { database: JSON.parse(process.env.CONNECTION) } });
await runMigrations();
const knex = (await runtime()).queues.worker().knex;
process.on('exit', () => console.log('idle at exit:', knex.client.pool.numFree()));
console.log('dispatched', await ExitPing.dispatch());
if (process.env.SLOW_SQL) {
  await knex.raw(process.env.SLOW_SQL);
  console.log('slow statement answered');
}
`;

interface Run {
  code: number | null;
  hung: boolean;
  stdout: string;
  stderr: string;
}

function runScript(connection: DatabaseConnectionConfig, env: Record<string, string> = {}): Promise<Run> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-exit-'));
  writeFileSync(path.join(dir, 'dispatch.mjs'), SCRIPT);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dispatch.mjs'], {
      cwd: dir,
      env: { ...process.env, QUEUE_CONNECTION: '', CONNECTION: JSON.stringify(connection), ...env },
    });
    let stdout = '';
    let stderr = '';
    let hung = false;
    const guard = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, HANG_MS);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, hung, stdout, stderr });
    });
  });
}

const SLOW_SQL = { mysql: 'select sleep(1)', postgres: 'select pg_sleep(1)' } as const;

const describeEachSql = databaseOnly("watches the database queue's knex pool and a slow SQL statement at exit");
await describeEachSql('a script that dispatches and never calls shutdown()', (engine) => {
  it(
    'exits on its own once its work is done, its idle connection still pooled, and the job is stored',
    async () => {
      const connection = await freshDatabase(engine, 'exit_without_shutdown');
      const run = await runScript(connection);
      expect(run.hung, `still running after ${HANG_MS} ms: ${run.stdout}`).toBe(false);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^dispatched \d+\nidle at exit: [1-9]\d*\n$/);
      const knex = knexFactory({
        client: connection.client,
        connection: connection.connection,
        useNullAsDefault: true,
      });
      try {
        expect(await knex('jobs').pluck('queue')).toEqual(['default']);
      } finally {
        await knex.destroy();
      }
    },
    HANG_MS + 30_000,
  );

  // better-sqlite3 answers synchronously: there is no wait on the server to cut short.
  if (engine !== 'sqlite') {
    it(
      'stays alive while a statement waits on the server',
      async () => {
        const connection = await freshDatabase(engine, 'exit_while_waiting');
        const run = await runScript(connection, { SLOW_SQL: SLOW_SQL[engine] });
        expect(run.hung, `still running after ${HANG_MS} ms: ${run.stdout}`).toBe(false);
        expect(run.code, run.stderr).toBe(0);
        expect(run.stdout).toMatch(/^dispatched \d+\nslow statement answered\nidle at exit: [1-9]\d*\n$/);
      },
      HANG_MS + 30_000,
    );
  }
});
