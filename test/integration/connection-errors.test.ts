import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { DatabaseUnreachableError } from '../../src/errors/database-unreachable-error.js';
import { MissingTableError } from '../../src/errors/missing-table-error.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { AddToBufferJob } from '../fixtures/jobs/fixture-jobs.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { runCli } from '../helpers/run-cli.js';

/** A local port nothing listens on: one the system just handed out, closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('a database that cannot be reached', () => {
  afterEach(() => shutdown());

  it.each([
    ['mysql2', 'mysql://root@127.0.0.1:1/test', 'mysql2 at 127.0.0.1:1/test'],
    ['pg', 'postgres://postgres@127.0.0.1:1/test', 'pg at 127.0.0.1:1/test'],
  ] as const)('%s: the error names the connection, host:port and the driver message', async (client, url, where) => {
    await boot({ connections: { main: { driver: 'database', client, connection: url } } });
    const error = await AddToBufferJob.dispatch('x').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DatabaseUnreachableError);
    expect((error as Error).message).toContain(`Cannot reach the database of queue connection [main] (${where})`);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });
});

describe('a CLI command whose database cannot be reached', () => {
  const hint = 'Nothing accepts connections there: is the server running, and are the host and port right?';

  it.each([
    ['mysql2', 'mysql', 'migrate'],
    ['mysql2', 'mysql', 'queue:work'],
    ['pg', 'postgres', 'queue:failed'],
    ['pg', 'postgres', 'queue:work'],
  ] as const)(
    '%s (%s URL), errand %s: one error naming host:port and the reason; the stack only with -v',
    async (client, scheme, command) => {
      const port = await closedPort();
      const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-unreachable-'));
      const config = {
        default: 'database',
        connections: {
          database: { driver: 'database', client, connection: `${scheme}://root@127.0.0.1:${port}/test` },
        },
      };
      writeFileSync(path.join(dir, 'errand.config.mjs'), `export default ${JSON.stringify(config)};\n`);
      const expected = `ERROR  Cannot reach the database of queue connection [database] (${client} at 127.0.0.1:${port}/test): connect ECONNREFUSED 127.0.0.1:${port}. ${hint}`;
      const args = command === 'queue:work' ? [command, 'database', '--stop-when-empty'] : [command];

      const plain = await runCli(args, dir);
      expect(plain.code).toBe(1);
      // Exactly errand's message: no knex log line, no stack (the no-jobs warning aside, for queue:work).
      const errors = plain.stderr
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.includes('WARN  No job class'));
      expect(errors).toEqual([`  ${expected}`]);

      const verbose = await runCli([...args, '-v'], dir);
      expect(verbose.code).toBe(1);
      expect(verbose.stderr).toContain(`DatabaseUnreachableError: ${expected.slice('ERROR  '.length)}`);
      expect(verbose.stderr).toMatch(/^ {4}at .+$/m);
      expect(verbose.stderr).toContain(`Caused by: Error: connect ECONNREFUSED 127.0.0.1:${port}`);
    },
  );
});

const describeEachSql = databaseOnly(
  'what errand says about unmigrated SQL tables; a Redis store has no tables to migrate',
);
await describeEachSql('tables not migrated yet', (engine) => {
  beforeAll(async () => {
    await boot({ connections: { database: await freshDatabase(engine, 'unmigrated') } });
  });
  afterAll(() => shutdown());

  it('tells the user to run errand migrate', async () => {
    const error = await AddToBufferJob.dispatch('x').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MissingTableError);
    expect((error as Error).message).toMatch(
      /^Table \[jobs\] does not exist on queue connection \[database\] \(.+\); run `errand migrate`\.$/,
    );
  });
});
