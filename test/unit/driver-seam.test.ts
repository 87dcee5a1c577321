import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

import { boot, shutdown } from '../../src/runtime/boot.js';
import { createWorker } from '../../src/worker/create-worker.js';

// The driver seam (decision 0052): outside src/drivers, errand knows the contracts in
// src/contracts and one door, src/drivers/connect.ts; never a driver's own files nor its classes.

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
/** The one module outside code may import from src/drivers. */
const DOOR = 'drivers/connect.ts';
/** The public entry may re-export (never import) classes a user constructs or extends. */
const PUBLIC_ENTRY = 'index.ts';

/** Every .ts file under `dir`, as paths relative to src/ with forward slashes. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [path.relative(SRC, full).split(path.sep).join('/')] : [];
  });
}

/** Where a relative specifier of `file` points, relative to src/ (`.js` read as the `.ts` it is built from). */
function target(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)).replace(/\.js$/, '.ts');
}

/** The classes the drivers export: what no code outside them may ask `instanceof` of. */
function driverClasses(sources: ReadonlyMap<string, string>): Set<string> {
  const names = new Set<string>();
  for (const [file, text] of sources) {
    if (!file.startsWith('drivers/')) continue;
    for (const match of text.matchAll(/^export (?:abstract )?class (\w+)/gm)) names.add(match[1]!);
  }
  return names;
}

/** Each breach of the seam in `sources` (path relative to src/ → text), as `file: what`. */
function seamViolations(sources: ReadonlyMap<string, string>): string[] {
  const classes = driverClasses(sources);
  const found: string[] = [];
  for (const [file, text] of sources) {
    if (file.startsWith('drivers/')) continue;
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const reach = (specifier: string, reexport: boolean) => {
      const to = target(file, specifier);
      if (!to?.startsWith('drivers/') || to === DOOR) return;
      if (reexport && file === PUBLIC_ENTRY) return;
      found.push(`${file}: ${reexport ? 're-exports' : 'imports'} ${specifier}`);
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier))
        reach(node.moduleSpecifier.text, false);
      else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier))
        reach(node.moduleSpecifier.text, true);
      else if (
        ts.isCallExpression(node) &&
        node.expression.kind === ts.SyntaxKind.ImportKeyword &&
        node.arguments[0] &&
        ts.isStringLiteralLike(node.arguments[0])
      )
        reach(node.arguments[0].text, false);
      else if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.InstanceOfKeyword) {
        const right = node.right;
        const name = ts.isIdentifier(right) ? right.text : ts.isPropertyAccessExpression(right) ? right.name.text : '';
        if (classes.has(name)) found.push(`${file}: instanceof ${name}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

function readSources(): Map<string, string> {
  return new Map(sourceFiles().map((file) => [file, readFileSync(path.join(SRC, file), 'utf8')]));
}

describe('the driver seam', () => {
  it('no file outside src/drivers imports a driver’s own files (only drivers/connect.ts) or asks instanceof of a driver class', () => {
    const sources = readSources();
    // The scan sees the drivers it guards: an empty list would pass for the wrong reason.
    expect(driverClasses(sources)).toContain('DatabaseQueue');
    expect(seamViolations(sources)).toEqual([]);
  });

  it('catches planted breaches: imports, dynamic imports, re-exports outside the public entry, and instanceof', () => {
    const driver = 'export class DatabaseQueue {}\nexport class SyncQueue {}\n';
    const sources = new Map([
      ['drivers/database/database-queue.ts', driver],
      ['drivers/connect.ts', "import { DatabaseQueue } from './database/database-queue.js';\n"],
      ['bus/ok.ts', "import { openQueue } from '../drivers/connect.js';\nconst s = 'instanceof DatabaseQueue';\n"],
      ['bus/typed.ts', "import type { DatabaseQueue } from '../drivers/database/database-queue.js';\n"],
      ['worker/lazy.ts', "const m = await import('../drivers/sync/sync-queue.js');\n"],
      ['worker/check.ts', 'export const is = (q: object, m: any) => q instanceof m.SyncQueue;\n'],
      ['runtime/re.ts', "export { SyncQueue } from '../drivers/sync/sync-queue.js';\n"],
      ['index.ts', "export { DatabaseQueue } from './drivers/database/database-queue.js';\n"],
      [
        'console/x.ts',
        "import './../drivers/null/null-queue.js';\nlet q: unknown; if (q instanceof DatabaseQueue) {}\n",
      ],
    ]);
    expect(seamViolations(sources)).toEqual([
      'bus/typed.ts: imports ../drivers/database/database-queue.js',
      'worker/lazy.ts: imports ../drivers/sync/sync-queue.js',
      'worker/check.ts: instanceof SyncQueue',
      'runtime/re.ts: re-exports ../drivers/sync/sync-queue.js',
      'console/x.ts: imports ./../drivers/null/null-queue.js',
      'console/x.ts: instanceof DatabaseQueue',
    ]);
  });

  it.each(['sync', 'null'] as const)(
    'refuses a worker on a %s connection, naming the connection and its driver',
    async (driver) => {
      await boot({ default: 'here', connections: { here: { driver } } });
      try {
        await expect(createWorker({ stopWhenEmpty: true }).run()).rejects.toThrow(
          `Queue connection [here] uses the ${driver} driver; only a database or redis connection keeps jobs that workers claim`,
        );
      } finally {
        await shutdown();
      }
    },
  );
});
