import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import * as errand from '../../src/index.js';

const ERRORS = fileURLToPath(new URL('../../src/errors/', import.meta.url));

describe("errand's error classes", () => {
  it('are all exported from the package, so an app can tell them apart with instanceof', async () => {
    const classes: string[] = [];
    for (const file of readdirSync(ERRORS).filter((name) => name.endsWith('.ts'))) {
      const module = (await import(path.join(ERRORS, file))) as Record<string, unknown>;
      for (const [name, value] of Object.entries(module)) {
        if (typeof value === 'function' && value.prototype instanceof Error) classes.push(name);
      }
    }
    expect(classes).toContain('MissingDatabaseClientError');
    const missing = classes.filter((name) => (errand as Record<string, unknown>)[name] === undefined);
    expect(missing).toEqual([]);
  });
});
