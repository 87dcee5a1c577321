import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The names an entry file exports, values and types alike, read from its `export { … } from` lines. */
function exportedNames(entry: string): Set<string> {
  const text = readFileSync(path.join(ROOT, entry), 'utf8');
  const names = new Set<string>();
  for (const [, list] of text.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const item of list!.split(',')) {
      const name = item.replace(/^\s*type\s+/, '').trim();
      if (name)
        names.add(
          name
            .split(/\s+as\s+/)
            .pop()!
            .trim(),
        );
    }
  }
  return names;
}

/** Every file a user reads or copies code from: the README, docs (pages and examples) and stubs. */
function documentation(): string[] {
  const docs = readdirSync(path.join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(md|mjs|js|ts)$/.test(file) && !file.startsWith('decisions'))
    .map((file) => path.join('docs', file));
  const stubs = readdirSync(path.join(ROOT, 'stubs')).map((file) => path.join('stubs', file));
  return ['README.md', ...docs, ...stubs];
}

const ENTRIES: Record<string, string> = {
  errand: 'src/index.ts',
  'errand/testing': 'src/testing/index.ts',
  'errand/deploy': 'src/deploy/index.ts',
  'errand/dashboard': 'src/dashboard/index.ts',
  'errand/metrics': 'src/metrics/index.ts',
};

describe('imports from errand in the README, docs and stubs', () => {
  it('name only what the entry they import from exports', () => {
    const exported = Object.fromEntries(Object.entries(ENTRIES).map(([id, file]) => [id, exportedNames(file)]));
    const wrong: string[] = [];
    let seen = 0;
    for (const file of documentation()) {
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      for (const [, list, id] of text.matchAll(/import (?:type )?\{([^}]*)\} from '(errand[^']*)'/g)) {
        const names = exported[id!];
        if (!names) {
          wrong.push(`${file}: '${id}' is not an entry of the package`);
          continue;
        }
        for (const item of list!.split(',')) {
          const name = item
            .replace(/^\s*type\s+/, '')
            .trim()
            .split(/\s+as\s+/)[0]!;
          if (!name) continue;
          seen++;
          if (!names.has(name)) wrong.push(`${file}: ${name} from '${id}'`);
        }
      }
    }
    expect(wrong).toEqual([]);
    // The scan found the docs' imports at all (a changed quote style would otherwise pass silently).
    expect(seen).toBeGreaterThan(40);
  });

  it('the fakes come from errand/testing and not from errand', () => {
    const main = exportedNames('src/index.ts');
    const testing = exportedNames('src/testing/index.ts');
    for (const name of ['BusFake', 'QueueFake', 'EventFake', 'FakeJobContext', 'serializeAndRestore']) {
      expect(testing.has(name), name).toBe(true);
      expect(main.has(name), name).toBe(false);
    }
  });
});
