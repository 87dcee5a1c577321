import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import knexFactory from 'knex';
import { describe, expect, it } from 'vitest';

import { createRateLimitsTable } from '../../src/drivers/database/migrations/0007-create-rate-limits-table.js';
import { rateLimitWindowsInMilliseconds } from '../../src/drivers/database/migrations/0011-rate-limit-windows-in-milliseconds.js';
import { compileApp } from '../helpers/compile-app.js';
import { ROOT, runCli } from '../helpers/run-cli.js';

const run = promisify(execFile);

/** An app directory whose `errand` import resolves to this repository's build. */
function appDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-mw-cli-'));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(ROOT, path.join(dir, 'node_modules/errand'), 'dir');
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  return dir;
}

describe('errand make:job-middleware', () => {
  it('writes a middleware class that compiles with tsc (strict, decorators, ESM) and runs', async () => {
    const dir = appDir();
    const made = await runCli(['make:job-middleware', 'EnsureTokenIsValid', '--path', 'src/middleware'], dir);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toContain(
      `Job middleware [${path.join('src', 'middleware', 'ensure-token-is-valid.ts')}] created successfully.`,
    );
    const source = readFileSync(path.join(dir, 'src/middleware/ensure-token-is-valid.ts'), 'utf8');
    expect(source).toContain('export class EnsureTokenIsValid implements JobMiddleware {');

    expect(await compileApp(dir, 'src', ['src'])).toBe('');

    // The compiled class is registered for through() and passes the job on.
    writeFileSync(
      path.join(dir, 'check.mjs'),
      `import { EnsureTokenIsValid } from './dist/middleware/ensure-token-is-valid.js';
const seen = [];
const result = await new EnsureTokenIsValid().handle({ label: 'job' }, async (job) => (seen.push(job.label), 'passed on'));
console.log(JSON.stringify({ result, seen }));
`,
    );
    const checked = await run(process.execPath, [path.join(dir, 'check.mjs')], { cwd: dir });
    expect(JSON.parse(checked.stdout)).toEqual({ result: 'passed on', seen: ['job'] });

    const again = await runCli(['make:job-middleware', 'EnsureTokenIsValid', '--path', 'src/middleware'], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists; pass --force to overwrite it.');
  });

  it("uses the app's own stubs/job-middleware.stub when there is one, and writes to src/jobs/middleware by default", async () => {
    const dir = appDir();
    mkdirSync(path.join(dir, 'stubs'));
    writeFileSync(path.join(dir, 'stubs/job-middleware.stub'), '// ours\nexport class {{ class }} {}\n');
    const made = await runCli(['make:job-middleware', 'HTTPLimit'], dir);
    expect(made.code).toBe(0);
    expect(readFileSync(path.join(dir, 'src/jobs/middleware/http-limit.ts'), 'utf8')).toBe(
      '// ours\nexport class HTTPLimit {}\n',
    );
    const bad = await runCli(['make:job-middleware', 'not.a.class'], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('make:job-middleware: [not.a.class] is not a class name');
  });
});

describe('errand queue:rate-limits-table', () => {
  it('writes a knex migration that creates the same table as errand migrate', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-rl-table-'));
    const made = await runCli(['queue:rate-limits-table'], dir);
    expect(made.code).toBe(0);
    const files = readdirSync(path.join(dir, 'migrations'));
    expect(files).toEqual([expect.stringMatching(/^\d{14}_create_rate_limits_table\.js$/)]);
    const knex = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: path.join(dir, 'stub.sqlite') },
      useNullAsDefault: true,
    });
    try {
      await knex.migrate.latest({ directory: path.join(dir, 'migrations'), loadExtensions: ['.js'] });
      await createRateLimitsTable.up(knex, 'own_limits');
      await rateLimitWindowsInMilliseconds.up(knex, 'own_limits');
      expect(await knex('rate_limits').columnInfo()).toEqual(await knex('own_limits').columnInfo());
      const indexes = async (table: string) =>
        ((await knex.raw(`pragma index_list(${table})`)) as Array<{ name: string }>)
          .map((i) => i.name.replace(table, 'T'))
          .sort();
      expect(await indexes('rate_limits')).toEqual(await indexes('own_limits'));
    } finally {
      await knex.destroy();
    }
  });
});
