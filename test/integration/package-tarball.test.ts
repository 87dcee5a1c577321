import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { beforeAll, describe, expect, it } from 'vitest';

import { ROOT, runNode } from '../helpers/run-cli.js';

const run = promisify(execFile);

interface Packed {
  filename: string;
  files: Array<{ path: string }>;
}

/**
 * `npm pack` of a clean copy of the repository (the files git tracks or would add, so this
 * checkout's dist/ and stray files play no part), with this repository's node_modules linked in
 * for the build. npm runs `prepack` there as it does before a publish, so the list is that of a
 * fresh build; the tarball is left in the copy.
 */
async function packCleanCopy(): Promise<{ dir: string; files: string[]; tarball: string }> {
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
  const { stdout } = await run('npm', ['pack', '--json', '--loglevel=silent', '--pack-destination', dir], {
    cwd: dir,
    env: { ...process.env, npm_config_update_notifier: 'false' },
    maxBuffer: 16 * 1024 * 1024,
  });
  // Lifecycle scripts print to the same stdout; the JSON report is the last thing npm writes.
  const packed = JSON.parse(stdout.slice(stdout.lastIndexOf('\n[') + 1)) as Packed[];
  return { dir, files: packed[0]!.files.map((file) => file.path), tarball: path.join(dir, packed[0]!.filename) };
}

/**
 * An app with the tarball unpacked as node_modules/errand, as `npm install` leaves it, and this
 * repository's other packages linked beside it for errand's dependencies.
 */
async function installTarball(tarball: string): Promise<string> {
  const app = mkdtempSync(path.join(os.tmpdir(), 'errand-tarball-app-'));
  const installed = path.join(app, 'node_modules', 'errand');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  for (const name of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (!name.startsWith('.')) symlinkSync(path.join(ROOT, 'node_modules', name), path.join(app, 'node_modules', name));
  }
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  return app;
}

/** Imports the package's entries by name, as an application's code and tests do, and reports what it found. */
const ENTRIES_SCRIPT = `
const main = await import('errand');
const testing = await import('errand/testing');
const deploy = await import('errand/deploy');
const missing = async (id) => import(id).then(() => 'resolved', (error) => error.code);
const functions = (module, names) => names.filter((name) => typeof module[name] === 'function');
const fake = main.Queue.fake();
console.log(JSON.stringify({
  fakes: functions(testing, ['BusFake', 'QueueFake', 'EventFake', 'FakeJobContext', 'serializeAndRestore']),
  leftInMain: ['BusFake', 'QueueFake', 'serializeAndRestore', 'Worker', 'CALL_QUEUED_HANDLER', 'OVERLAP_KEEPALIVE_TTL', 'renderSupervisorConfig'].filter((name) => name in main),
  sameModules: fake instanceof testing.QueueFake,
  workerEvents: functions(main, ['WorkerStarting', 'Looping', 'JobPopping', 'JobPopped', 'WorkerPausing', 'WorkerResuming', 'WorkerQueuePaused', 'WorkerQueueResumed']),
  attachJsonOutput: typeof main.attachJsonOutput,
  deploy: functions(deploy, ['renderSupervisorConfig', 'renderSystemdUnit', 'resolveWorkerCommand', 'stopWaitSeconds', 'workerGraceSeconds']),
  supervisorSection: deploy.renderSupervisorConfig({ directory: '/srv/app', workerArgs: ['--timeout=120'] }).split('\\n').filter((line) => /^\\[program:|^stopwaitsecs=/.test(line)),
  internals: await missing('errand/dist/runtime/boot.js'),
}));
main.Queue.restore();
`;

describe('the npm package', () => {
  let dir: string;
  let files: string[];
  let tarball: string;

  beforeAll(async () => {
    ({ dir, files, tarball } = await packCleanCopy());
  }, 180_000);

  it('holds the library, its CLI, the stubs, LICENSE, README and docs', () => {
    for (const file of [
      'package.json',
      'LICENSE',
      'README.md',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/testing/index.js',
      'dist/testing/index.d.ts',
      'dist/deploy/index.js',
      'dist/deploy/index.d.ts',
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

  it('resolves errand and errand/testing from the installed tarball, sharing one copy of errand', async () => {
    const app = await installTarball(tarball);
    writeFileSync(path.join(app, 'entries.mjs'), ENTRIES_SCRIPT);
    const { code, stdout, stderr } = await runNode(['entries.mjs'], app);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      fakes: ['BusFake', 'QueueFake', 'EventFake', 'FakeJobContext', 'serializeAndRestore'],
      leftInMain: [],
      sameModules: true,
      workerEvents: [
        'WorkerStarting',
        'Looping',
        'JobPopping',
        'JobPopped',
        'WorkerPausing',
        'WorkerResuming',
        'WorkerQueuePaused',
        'WorkerQueueResumed',
      ],
      attachJsonOutput: 'function',
      // Decision 0051: the deploy renderers are their own entry; other files are reached only through exports.
      deploy: [
        'renderSupervisorConfig',
        'renderSystemdUnit',
        'resolveWorkerCommand',
        'stopWaitSeconds',
        'workerGraceSeconds',
      ],
      // A --timeout=120 worker's grace is its timeout; supervisord waits that plus the 15 s stop margin.
      supervisorSection: ['[program:errand-worker]', 'stopwaitsecs=135'],
      internals: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  });
});
