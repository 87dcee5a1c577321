import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { importModules, modulesAt } from '../../src/config/module-paths.js';

/** A compiled app's dist/jobs with what a directory or a glob must pass by, and links. */
function distJobs(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-modules-'));
  const files = [
    'dist/jobs/a.js',
    'dist/jobs/a-b.js',
    'dist/jobs/a/c.js',
    'dist/jobs/Z.js',
    'dist/jobs/sub/g.mjs',
    'dist/shared/f.js',
    // Compiled tests, dot names, installed packages, declarations: never imported.
    'dist/jobs/a.test.js',
    'dist/jobs/sub/g.spec.mjs',
    'dist/jobs/.cache/d.js',
    'dist/jobs/.eslintrc.js',
    'dist/jobs/node_modules/e.js',
    'dist/jobs/a.d.ts',
  ];
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), 'export {};\n');
  }
  // A directory linked in (followed), and a link back up the tree (read once).
  symlinkSync('../shared', path.join(dir, 'dist/jobs/linked'));
  symlinkSync('..', path.join(dir, 'dist/jobs/sub/loop'));
  return dir;
}

describe('the modules a bootstrap directory or glob takes in', () => {
  it('are the same files in the same order in both modes: no compiled tests or dot names, links followed once, code point order', () => {
    const dir = distJobs();
    const context = { baseDir: dir };
    const expected = ['Z.js', 'a-b.js', 'a.js', 'a/c.js', 'linked/f.js', 'sub/g.mjs'].map((file) =>
      path.join(dir, 'dist/jobs', file),
    );
    expect(modulesAt(path.join(dir, 'dist/jobs'), 'bootstrap', context)).toEqual(expected);
    expect(modulesAt(path.join(dir, 'dist/jobs/**/*.{js,mjs}'), 'bootstrap', context)).toEqual(expected);
  });
});

describe('importModules', () => {
  it('imports and counts each file once when entries overlap (a directory and a file in it)', async () => {
    const dir = distJobs();
    const context = { baseDir: dir };
    const jobs = path.join(dir, 'dist/jobs');
    const imported = await importModules(
      [path.join(jobs, 'a.js'), jobs, path.join(jobs, '*.js')],
      'bootstrap',
      context,
    );
    expect(imported).toEqual(
      ['a.js', 'Z.js', 'a-b.js', 'a/c.js', 'linked/f.js', 'sub/g.mjs'].map((file) => path.join(jobs, file)),
    );
  });
});
