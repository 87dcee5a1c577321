import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { renderCliReference } from '../../src/console/cli-reference.js';
import { buildProgram } from '../../src/console/program.js';

describe('the CLI reference', () => {
  const rendered = renderCliReference(buildProgram());

  it('is current: docs/cli-reference.md is what the commands define (run `npm run docs:cli` when this fails)', () => {
    const stored = readFileSync(new URL('../../docs/cli-reference.md', import.meta.url), 'utf8');
    expect(stored).toBe(rendered);
  });

  it('documents every command with its arguments and options', () => {
    const program = buildProgram();
    for (const command of program.commands)
      expect(rendered, command.name()).toContain(`### \`errand ${command.name()}\``);
    expect(rendered).toContain('| `--max <n>` | alert when a queue holds this many jobs or more | `1000` |');
    expect(rendered).toContain('| `[queues]` |');
  });
});
