import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';

import { ROOT, runCli, runNode } from '../helpers/run-cli.js';

const run = promisify(execFile);
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
// npm run offline and quietly: the steps it runs here (`npm init`, `npm pkg set`) need no registry.
const NPM_ENV = { ...process.env, npm_config_update_notifier: 'false', npm_config_offline: 'true' };

/** The README's section under `## title`, up to the next `## ` heading. */
function section(readme: string, title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  expect(start, `README has a "## ${title}" section`).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

/** The fenced code blocks of `text`, with their language. */
function blocks(text: string): Array<{ lang: string; code: string }> {
  return [...text.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]! }));
}

describe("README's first hour", () => {
  it('installs the SQLite client, and its job, config and commands work as written: the job runs and migrate makes the tables it names', async () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const install = section(readme, 'Install');
    expect(install).toContain('npm install errand reflect-metadata better-sqlite3');
    expect(install).toContain("import 'reflect-metadata';");

    // A new project as npm makes it (npm 11 writes "type": "commonjs"), then the Install block's
    // commands as written: `npm install` is replaced by links to this checkout's packages (the
    // SQLite line and the dev line; the "instead" lines are the other clients), the rest run.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-readme-'));
    await run('npm', ['init', '-y'], { cwd: dir, env: NPM_ENV });
    const installed: string[] = [];
    for (const { code } of blocks(install).filter((b) => b.lang === 'sh')) {
      for (const line of code.split('\n')) {
        const [program, ...args] = line.replace(/#.*$/, '').trim().split(/\s+/);
        if (!program || /instead/.test(line)) continue;
        if (program === 'npm' && args[0] === 'install') {
          for (const name of args.slice(1).filter((arg) => !arg.startsWith('-'))) {
            mkdirSync(path.dirname(path.join(dir, 'node_modules', name)), { recursive: true });
            symlinkSync(
              name === 'errand' ? ROOT : path.join(ROOT, 'node_modules', name),
              path.join(dir, 'node_modules', name),
              'dir',
            );
            installed.push(name);
          }
          continue;
        }
        const ran = await run(program, args, { cwd: dir, env: NPM_ENV }).catch(
          (error: { stdout: string; stderr: string }) => error,
        );
        expect(ran.stderr, line).toBe('');
      }
    }
    expect(installed.sort()).toEqual(['@types/node', 'better-sqlite3', 'errand', 'reflect-metadata', 'typescript']);

    // The README's tsconfig.json, as it is: the one getting-started.md gives too.
    const tsconfig = blocks(install).find((b) => b.lang === 'json')!.code;
    const guide = blocks(readFileSync(path.join(ROOT, 'docs/getting-started.md'), 'utf8')).find(
      (b) => b.lang === 'json',
    )!.code;
    expect(JSON.parse(tsconfig), 'README and getting-started.md give the same tsconfig.json').toEqual(
      JSON.parse(guide),
    );
    writeFileSync(path.join(dir, 'tsconfig.json'), tsconfig);

    // Each ts/js block starts with a comment naming its file; the sh block holds the commands.
    const job = section(readme, 'A job');
    const commands: string[][] = [];
    for (const { lang, code } of blocks(job)) {
      if (lang === 'sh') {
        for (const line of code.split('\n')) {
          const command = line.replace(/#.*$/, '').trim();
          if (command) commands.push(command.split(/\s+/));
        }
        continue;
      }
      const file = /^\/\/ ([\w./-]+)/.exec(code)?.[1];
      expect(file, `the ${lang} block names its file:\n${code}`).toBeDefined();
      mkdirSync(path.dirname(path.join(dir, file!)), { recursive: true });
      writeFileSync(path.join(dir, file!), code);
    }
    expect(commands.map((c) => c.join(' '))).toEqual([
      'npx tsc',
      'npx errand migrate',
      'node dist/signup.js',
      'npx errand queue:work',
    ]);

    const outputs: string[] = [];
    for (const [program, ...args] of commands) {
      if (program === 'npx' && args[0] === 'tsc') {
        const compiled = await run(process.execPath, [TSC], { cwd: dir }).catch(
          (error: { stdout: string; stderr: string }) => error,
        );
        expect(compiled.stdout + compiled.stderr).toBe('');
        continue;
      }
      // queue:work would wait for more jobs; the README's Ctrl-C is --stop-when-empty here.
      const result =
        program === 'npx'
          ? await runCli(args[1] === 'queue:work' ? [...args.slice(1), '--stop-when-empty'] : args.slice(1), dir)
          : await runNode(args, dir);
      expect(result.stderr, [program, ...args].join(' ')).toBe('');
      expect(result.code, [program, ...args].join(' ')).toBe(0);
      outputs.push(result.stdout);
    }
    expect(outputs.at(-1)).toContain('welcome mail for user 42');
    expect(outputs.at(-1)).toMatch(/SendWelcomeMail \.+ .*DONE/);

    // "`migrate` creates seven tables (`jobs`, …) and `errand_migrations`": what the database holds.
    const claim = /`migrate` creates (\w+) tables \(([^)]*)\) and `(\w+)`/.exec(job);
    expect(claim, 'README says which tables migrate creates').not.toBeNull();
    const named = [...claim![2]!.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
    expect(claim![1]).toBe(
      ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'][named.length],
    );
    const db = new Database(path.join(dir, '.errand/errand.sqlite'), { readonly: true });
    const tables = (
      db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'").all() as Array<{
        name: string;
      }>
    ).map((r) => r.name);
    db.close();
    expect(tables.sort()).toEqual([...named, claim![3]!, `${claim![3]!}_lock`].sort());
  }, 120_000);
});
