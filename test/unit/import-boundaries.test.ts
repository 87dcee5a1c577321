import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

/** Every .ts file under src/, relative to it, with forward slashes. */
function sources(): string[] {
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.split(path.sep).join('/'));
}

// Decision 0050: the booted state (runtime/current.ts) is what errand's parts read; boot wiring
// (runtime/boot.ts) is loaded only by the entries, so nothing below them can pull boot, and with
// it every driver, into an import loop. The cycle check (npm run check:cycles) cannot say this.
describe('who imports runtime/boot.ts', () => {
  it('is only an entry: the public entry, errand/testing, the console and the demo app', () => {
    const importers = sources().filter((file) =>
      /from '[./]*(runtime\/)?boot\.js'|import '[./]*(runtime\/)?boot\.js'/.test(
        readFileSync(path.join(SRC, file), 'utf8'),
      ),
    );
    const belowTheEntries = importers.filter(
      (file) =>
        file !== 'index.ts' && file !== 'testing/index.ts' && !file.startsWith('console/') && !file.startsWith('demo/'),
    );
    expect(importers).toContain('index.ts');
    expect(importers).toContain('testing/index.ts');
    expect(belowTheEntries).toEqual([]);
  });

  it('is never imported by runtime/current.ts, which imports only the event bus and types', () => {
    const current = readFileSync(path.join(SRC, 'runtime/current.ts'), 'utf8');
    const imports = [...current.matchAll(/^import (type )?.* from '([^']+)';$/gm)].map((m) => `${m[1] ?? ''}${m[2]}`);
    expect(imports).toEqual([
      'type tsyringe',
      'type ../config/config-types.js',
      '../events/event-bus.js',
      'type ./queue-manager.js',
    ]);
  });
});

/** The files src/index.ts reaches through its imports and re-exports (type-only ones included). */
function reachableFromMainEntry(): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(path.join(SRC, file), 'utf8');
    for (const [, target] of text.matchAll(/(?:from|import) '(\.{1,2}\/[^']+)\.js'/g)) {
      visit(path.posix.normalize(path.posix.join(path.posix.dirname(file), `${target}.ts`)));
    }
  };
  visit('index.ts');
  return seen;
}

// Issue 24: prom-client is an optional peer behind errand/metrics. The main entry (and the hot
// paths it reaches, which report to src/metrics/process-metrics.ts) must not name it at all.
describe('the main entry and prom-client', () => {
  it('reaches no file that imports prom-client, its types, or the module that loads it', () => {
    const reached = reachableFromMainEntry();
    expect(reached).toContain('metrics/process-metrics.ts');
    const naming = [...reached].filter((file) =>
      /'prom-client'|load-prom-client\.js|errand-metrics\.js|depth-gauges\.js/.test(
        readFileSync(path.join(SRC, file), 'utf8'),
      ),
    );
    expect(naming).toEqual([]);
  });
});
