import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/run-cli.js';

const run = promisify(execFile);

interface Packed {
  files: Array<{ path: string }>;
}

/**
 * `npm pack --dry-run` of a clean copy of the repository (the files git tracks or would add, so
 * this checkout's dist/ and stray files play no part), with this repository's node_modules linked
 * in for the build. npm runs `prepack` there as it does before a publish, so the list is that of
 * a fresh build.
 */
async function packCleanCopy(): Promise<{ dir: string; files: string[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-pack-'));
  const { stdout: listed } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  for (const file of listed.split('\0').filter(Boolean)) {
    if (!existsSync(path.join(ROOT, file))) continue; // deleted in the working tree, not yet committed
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    copyFileSync(path.join(ROOT, file), path.join(dir, file));
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--loglevel=silent'], {
    cwd: dir,
    env: { ...process.env, npm_config_update_notifier: 'false' },
    maxBuffer: 16 * 1024 * 1024,
  });
  // Lifecycle scripts print to the same stdout; the JSON report is the last thing npm writes.
  const packed = JSON.parse(stdout.slice(stdout.lastIndexOf('\n[') + 1)) as Packed[];
  return { dir, files: packed[0]!.files.map((file) => file.path) };
}

describe('the npm package', () => {
  let dir: string;
  let files: string[];

  beforeAll(async () => {
    ({ dir, files } = await packCleanCopy());
  }, 180_000);

  it('holds the library, its CLI, the stubs, LICENSE, README and docs', () => {
    for (const file of [
      'package.json',
      'LICENSE',
      'README.md',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/console/cli.js',
      'stubs/job.stub',
      'stubs/migration.jobs.stub',
      'docs/getting-started.md',
      'docs/cli-reference.md',
    ]) {
      expect(files, file).toContain(file);
    }
    const license = readFileSync(path.join(dir, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 the errand authors\n/);
    expect(readFileSync(path.join(dir, 'dist/console/cli.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it('leaves out the demo, the build helpers, sources, tests and the repository tooling', () => {
    const unwanted = files.filter(
      (file) =>
        file.startsWith('dist/demo/') ||
        /^dist\/console\/(write-)?cli-reference\./.test(file) ||
        /^(src|test|\.ci|node_modules)\//.test(file) ||
        /\.test\.[cm]?[jt]s$/.test(file) ||
        /^(tsconfig.*|vitest\.config\..*|eslint\.config\..*|package-lock\.json)$/.test(file),
    );
    expect(unwanted).toEqual([]);
  });

  it('ships source maps that carry their sources', () => {
    const maps = files.filter((file) => file.endsWith('.map'));
    expect(maps).toContain('dist/index.js.map');
    const withoutSources = maps.filter((file) => {
      const map = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {
        sources: string[];
        sourcesContent?: Array<string | null>;
      };
      return map.sourcesContent?.length !== map.sources.length || map.sourcesContent.some((source) => !source);
    });
    expect(withoutSources).toEqual([]);
  });

  it('builds on pack, not on install, and leaves the database clients to the app as optional peers', () => {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    // `prepare` would make npm 11 warn on every install from a tarball (decision 0047).
    expect(manifest.scripts.prepare).toBeUndefined();
    expect(manifest.scripts.prepack).toContain('npm run build');
    for (const client of ['better-sqlite3', 'mysql2', 'pg']) {
      expect(manifest.dependencies[client], client).toBeUndefined();
      expect(manifest.peerDependencies[client], client).toBeDefined();
      expect(manifest.peerDependenciesMeta[client]?.optional, client).toBe(true);
      expect(manifest.devDependencies[client], client).toBe(manifest.peerDependencies[client]);
    }
  });
});
