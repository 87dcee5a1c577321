import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import knexFactory from 'knex';
import { beforeEach, describe, expect, it } from 'vitest';
import { createJobsTable } from '../../src/drivers/database/migrations/0001-create-jobs-table.js';
import { createFailedJobsTable } from '../../src/drivers/database/migrations/0002-create-failed-jobs-table.js';
import { createWorkersTable } from '../../src/drivers/database/migrations/0003-create-workers-table.js';
import { createControlsTable } from '../../src/drivers/database/migrations/0004-create-controls-table.js';
import { indexJobsReservedBy } from '../../src/drivers/database/migrations/0005-index-jobs-reserved-by.js';
import { indexJobsForClaims } from '../../src/drivers/database/migrations/0009-index-jobs-for-claims.js';
import { failedJobsJobColumn } from '../../src/drivers/database/migrations/0012-failed-jobs-job-column.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';
import { ROOT, runCli } from '../helpers/run-cli.js';
import { DURATION } from '../helpers/worker-line.js';

const distIndex = pathToFileURL(path.join(ROOT, 'dist/index.js')).href;
const errand = (args: string[], cwd: string) => runCli(args, cwd);

describe('the errand command', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'errand-cli-'));
    writeFileSync(
      path.join(dir, 'jobs.mjs'),
      `import { appendFileSync } from 'node:fs';
import { Job, Queueable } from '${distIndex}';
export const Note = Job({ name: 'Note' })(class Note extends Queueable {
  async handle() { appendFileSync(${JSON.stringify(path.join(dir, 'notes.txt'))}, this.text + '\\n'); }
});
export const Broken = Job({ name: 'Broken', tries: 2 })(class Broken extends Queueable {
  async handle() { throw new Error('broken on purpose'); }
});
`,
    );
    writeFileSync(path.join(dir, 'errand.config.mjs'), `export default { bootstrap: './jobs.mjs' };\n`);
  });

  it('lists its commands and suggests the closest name for a typo', async () => {
    const help = await errand(['--help'], dir);
    expect(help.stdout).toContain('queue:work');
    expect(help.stdout).toContain('migrate');
    expect(help.stdout).toContain('queue:failed-table');
    const typo = await errand(['queue:wrk'], dir);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('(Did you mean queue:work?)');
  });

  it('prints its version, lists its commands when run bare, and finds queue:work from work', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const [long, short, bare, bareWithConfig, ...typos] = await Promise.all([
      errand(['--version'], dir),
      errand(['-V'], dir),
      errand([], dir),
      errand(['--config', 'errand.config.mjs'], dir),
      ...['work', 'failed', 'wrok', 'job'].map((typed) => errand([typed, '--queue=x'], dir)),
    ]);
    for (const result of [long, short]) {
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`${version}\n`);
    }
    for (const result of [bare, bareWithConfig]) {
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('Available commands:');
      expect(result.stdout).toMatch(/ {2}queue:work +/);
    }
    const meant = ['queue:work', 'queue:failed', 'queue:work', 'make:job'];
    for (const [i, typed] of ['work', 'failed', 'wrok', 'job'].entries()) {
      expect(typos[i]!.code, typed).toBe(1);
      expect(typos[i]!.stderr, typed).toContain(`unknown command '${typed}'\n(Did you mean ${meant[i]}?)`);
    }
    const nothingClose = await errand(['xyzzy'], dir);
    expect(nothingClose.code).toBe(1);
    expect(nothingClose.stderr).not.toContain('Did you mean');
  });

  it('names the option at fault', async () => {
    const result = await errand(['queue:work', '--tries', 'abc'], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--tries must be a whole number from 0 to 2147483647, got "abc"');
    const tooLong = await errand(['queue:work', '--timeout=2592000000'], dir);
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toContain(
      '--timeout must be a whole number of seconds from 0 to 2147483647, got "2592000000"',
    );
  });

  it('names an unknown connection, and tells the user to migrate when tables are missing', async () => {
    const unknown = await errand(['queue:work', 'nope'], dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      'Queue connection [nope] is not defined. Defined connections: database, sync, null.',
    );
    // Names a plain object answers from its prototype are unknown names too, not a worker of nothing.
    for (const name of ['constructor', '__proto__', 'toString']) {
      const result = await errand(['queue:work', name, '--stop-when-empty'], dir);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `Queue connection [${name}] is not defined. Defined connections: database, sync, null.`,
      );
    }
    const missing = await errand(['queue:work'], dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/Table \[(jobs|queue_workers)\] does not exist on queue connection \[database\]/);
    expect(missing.stderr).toContain('run `errand migrate`');
  });

  it('names a bad driver in the config file', async () => {
    writeFileSync(path.join(dir, 'bad.config.mjs'), `export default { connections: { main: { driver: 'sqs' } } };\n`);
    const result = await errand(['--config', 'bad.config.mjs', 'migrate'], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Queue connection [main]');
    expect(result.stderr).toContain('unknown driver [sqs]; expected one of database, redis, sync, null');
  });

  it('names a typo in the config file with the key it meant, and takes the client from a URL', async () => {
    writeFileSync(
      path.join(dir, 'errand.config.mjs'),
      `export default { conections: { database: { driver: 'database', client: 'pg', connection: 'postgres://nobody@127.0.0.1:1/app' } } };\n`,
    );
    const typo = await errand(['migrate'], dir);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain(
      `Unknown key \`conections\` in ${path.join(dir, 'errand.config.mjs')}: did you mean \`connections\`?`,
    );
    // Not "Nothing to migrate." on an SQLite file nobody asked for.
    expect(existsSync(path.join(dir, '.errand'))).toBe(false);

    // No client: the URL says pg, so migrate goes to that server, not to an SQLite file in a directory named `postgres:`.
    writeFileSync(
      path.join(dir, 'errand.config.mjs'),
      `export default { connections: { database: { driver: 'database', connection: 'postgres://nobody@127.0.0.1:1/app' } } };\n`,
    );
    const url = await errand(['migrate'], dir);
    expect(url.code).toBe(1);
    expect(url.stderr).toContain('Cannot reach the database of queue connection [database] (pg at 127.0.0.1:1/app)');
    expect(readdirSync(dir).sort()).toEqual(['errand.config.mjs', 'jobs.mjs']);
  });

  it('migrates once, then works jobs with per-job lines until empty', async () => {
    const first = await errand(['migrate'], dir);
    expect(first.stdout).toContain('0001_create_jobs_table (jobs) DONE');
    expect(first.stdout).toContain('0002_create_failed_jobs_table (failed_jobs) DONE');
    expect((await errand(['migrate'], dir)).stdout).toContain('Nothing to migrate.');

    const knex = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: path.join(dir, '.errand/errand.sqlite') },
      useNullAsDefault: true,
    });
    try {
      await insertJobsForTest(knex, 'jobs', 3, (i) =>
        i === 1 ? { name: 'Broken', command: {} } : { name: 'Note', command: { text: `note ${i}` } },
      );
      const once = await errand(['queue:work', '--once'], dir);
      expect(once.stdout.match(/DONE/g)).toHaveLength(1);

      const result = await errand(['queue:work', '--stop-when-empty', '--sleep=0'], dir);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('INFO  Processing jobs from the [default] queue.');
      expect(result.stdout).toMatch(/^ {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d Broken \.+ RUNNING$/m);
      expect(result.stdout).toMatch(
        new RegExp(
          String.raw`^ {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d Broken \.+ ${DURATION} FAIL — Error: broken on purpose$`,
          'm',
        ),
      );
      expect(result.stdout).toMatch(
        new RegExp(String.raw`^ {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d Note \.+ ${DURATION} DONE$`, 'm'),
      );
      expect(readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('note 0\nnote 2\n');
      const failed = await knex('failed_jobs').select('exception');
      expect(failed).toHaveLength(1);
      expect(failed[0].exception).toContain('broken on purpose');
    } finally {
      await knex.destroy();
    }
  });

  it('writes knex migrations from the stubs that create the same tables as errand migrate', async () => {
    expect((await errand(['queue:table'], dir)).code).toBe(0);
    expect((await errand(['queue:failed-table', '--table', 'dead_jobs'], dir)).code).toBe(0);
    expect((await errand(['queue:workers-table'], dir)).code).toBe(0);
    expect((await errand(['queue:controls-table'], dir)).code).toBe(0);
    const again = await errand(['queue:table'], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('A migration to create the jobs table already exists');

    const files = readdirSync(path.join(dir, 'migrations')).sort();
    expect(files).toHaveLength(4);
    expect(files.some((f) => f.endsWith('_create_jobs_table.js'))).toBe(true);
    expect(files.some((f) => f.endsWith('_create_dead_jobs_table.js'))).toBe(true);

    const knex = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: path.join(dir, 'stub.sqlite') },
      useNullAsDefault: true,
    });
    try {
      await knex.migrate.latest({ directory: path.join(dir, 'migrations'), loadExtensions: ['.js'] });
      await createJobsTable.up(knex, 'own_jobs');
      await createFailedJobsTable.up(knex, 'own_failed');
      await failedJobsJobColumn.up(knex, 'own_failed');
      await indexJobsReservedBy.up(knex, 'own_jobs');
      await indexJobsForClaims.up(knex, 'own_jobs');
      await createWorkersTable.up(knex, 'own_workers');
      await createControlsTable.up(knex, 'own_controls');
      expect(await knex('jobs').columnInfo()).toEqual(await knex('own_jobs').columnInfo());
      expect(await knex('queue_workers').columnInfo()).toEqual(await knex('own_workers').columnInfo());
      expect(await knex('queue_controls').columnInfo()).toEqual(await knex('own_controls').columnInfo());
      const indexes = async (table: string) =>
        ((await knex.raw(`pragma index_list(${table})`)) as Array<{ name: string }>)
          .map((i) => i.name.replace(table, 'T'))
          .sort();
      expect(await indexes('jobs')).toEqual(await indexes('own_jobs'));
      expect(await indexes('queue_workers')).toEqual(await indexes('own_workers'));
      expect(await knex('dead_jobs').columnInfo()).toEqual(await knex('own_failed').columnInfo());
      expect(await indexes('dead_jobs')).toEqual(await indexes('own_failed'));
    } finally {
      await knex.destroy();
    }
    expect(existsSync(path.join(dir, 'stub.sqlite'))).toBe(true);
  });
});
