import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { compiledEntryFor, compiledPathOf, readTypeScriptLayout } from '../../src/config/typescript-layout.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A project directory (outside any node_modules with TypeScript) holding these files. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-tsconfig-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe('the TypeScript layout, read through `extends`', () => {
  it('follows a relative base, resolving its paths from its own directory, with or without .json', () => {
    for (const base of ['./configs/base.json', './configs/base']) {
      const dir = project({
        'tsconfig.json': JSON.stringify({ extends: base, include: ['src'] }),
        'configs/base.json':
          '{\n  // a base shared by several apps\n  "compilerOptions": { "rootDir": "../src", "outDir": "../build", },\n}\n',
      });
      const layout = readTypeScriptLayout(dir)!;
      expect(layout).toEqual({
        tsconfig: path.join(dir, 'tsconfig.json'),
        rootDir: path.join(dir, 'src'),
        outDir: path.join(dir, 'build'),
      });
      expect(compiledPathOf(path.join(dir, 'src/jobs/a.ts'), layout)).toBe(path.join(dir, 'build/jobs/a.js'));
      expect(compiledEntryFor(path.join(dir, 'src/jobs'), layout)).toBe(path.join(dir, 'build/jobs'));
    }
  });

  it('takes an `extends` array in order, the config itself last, and package bases under node_modules', () => {
    const dir = project({
      'tsconfig.json': JSON.stringify({
        extends: ['@acme/tsconfig', '@acme/tsconfig/strict.json'],
        compilerOptions: { rootDir: 'app' },
      }),
      'node_modules/@acme/tsconfig/package.json': JSON.stringify({ name: '@acme/tsconfig', tsconfig: 'base.json' }),
      'node_modules/@acme/tsconfig/base.json': JSON.stringify({
        compilerOptions: { rootDir: 'ignored', outDir: 'ignored-too' },
      }),
      // ${configDir} is the project's tsconfig.json directory, wherever the base lives.
      'node_modules/@acme/tsconfig/strict.json': JSON.stringify({ compilerOptions: { outDir: '${configDir}/out' } }),
    });
    expect(readTypeScriptLayout(dir)).toMatchObject({ rootDir: path.join(dir, 'app'), outDir: path.join(dir, 'out') });
  });

  it('an outDir set nowhere is absent: the output lies beside the sources, suggested as a glob of the .js, never as the directory of .ts', () => {
    const dir = project({
      'tsconfig.json': '{ "extends": "./base.json" }',
      'base.json': '{ "compilerOptions": { "strict": true } }',
      'src/jobs/a.ts': '',
    });
    const layout = readTypeScriptLayout(dir)!;
    expect(layout.outDir).toBeUndefined();
    expect(layout.unknown).toBeUndefined();
    expect(compiledPathOf(path.join(dir, 'src/jobs/a.ts'), layout)).toBe(path.join(dir, 'src/jobs/a.js'));
    expect(compiledEntryFor(path.join(dir, 'src/jobs'), layout)).toBe(path.join(dir, 'src/jobs/**/*.js'));
  });

  it.each([
    [
      'a base that is not there',
      { 'tsconfig.json': '{ "extends": "@acme/missing" }' },
      /tsconfig\.json extends "@acme\/missing", which errand could not find$/,
    ],
    [
      'a base that does not parse',
      { 'tsconfig.json': '{ "extends": "./base.json" }', 'base.json': '{ "compilerOptions": ' },
      /base\.json could not be read: /,
    ],
    [
      'a cycle',
      { 'tsconfig.json': '{ "extends": "./a.json" }', 'a.json': '{ "extends": "./tsconfig.json" }' },
      /tsconfig\.json extends itself \(through /,
    ],
  ])('%s leaves the outDir unknown, and no compiled path is named', (_what, files, reason) => {
    const dir = project(files);
    const layout = readTypeScriptLayout(dir)!;
    expect(layout.outDir).toBeUndefined();
    expect(layout.unknown).toMatch(reason);
    expect(compiledPathOf(path.join(dir, 'src/jobs/a.ts'), layout)).toBeUndefined();
    expect(compiledEntryFor(path.join(dir, 'src/jobs'), layout)).toBeUndefined();
  });

  it("uses the project's own typescript package when it has the JS API (5.x, 6.x)", () => {
    const fake = `exports.version = '5.4.0'; exports.sys = {};
exports.readConfigFile = () => ({ config: {} });
exports.parseJsonConfigFileContent = () => ({ options: { outDir: '/from/the/compiler', rootDir: '/from/the/sources' }, errors: [] });`;
    const dir = project({
      'tsconfig.json': '{}',
      'node_modules/typescript/package.json': '{ "name": "typescript", "main": "index.js" }',
      'node_modules/typescript/index.js': fake,
    });
    expect(readTypeScriptLayout(dir)).toMatchObject({ outDir: '/from/the/compiler', rootDir: '/from/the/sources' });
  });

  it('with the real typescript 5.x, follows `extends` and reports a base it cannot find', () => {
    const dir = project({
      'tsconfig.json': JSON.stringify({ extends: './configs/base.json' }),
      'configs/base.json': JSON.stringify({ compilerOptions: { outDir: '../build' } }),
    });
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(path.join(ROOT, 'node_modules/typescript'), path.join(dir, 'node_modules/typescript'));
    expect(readTypeScriptLayout(dir)?.outDir).toBe(path.join(dir, 'build'));
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ extends: './configs/nope.json' }));
    expect(readTypeScriptLayout(dir)).toMatchObject({
      outDir: undefined,
      unknown: expect.stringContaining('configs/nope.json'),
    });
  });

  it('typescript 7.x (its package has no JS API): follows `extends` by hand, and defaults rootDir to the tsconfig directory', () => {
    const dir = project({
      'tsconfig.json': '{ "extends": "./base.json" }',
      'base.json': '{ "compilerOptions": { "outDir": "dist" } }',
      'node_modules/typescript/package.json': '{ "name": "typescript", "version": "7.0.2", "main": "lib/version.cjs" }',
      'node_modules/typescript/lib/version.cjs': "exports.version = '7.0.2';\n",
      'src/jobs/a.ts': '',
    });
    expect(readTypeScriptLayout(dir)).toMatchObject({ rootDir: dir, outDir: path.join(dir, 'dist') });
  });
});
