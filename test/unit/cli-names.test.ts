import { describe, expect, it } from 'vitest';

import { pascalCase } from '../../src/console/commands/make-commands.js';
import { suggestCommands } from '../../src/console/suggest-command.js';

describe('pascalCase (make:* class names)', () => {
  it('turns camelCase, kebab-case and snake_case into PascalCase and leaves class names and non-words alone', () => {
    expect(pascalCase('sendReport')).toBe('SendReport');
    expect(pascalCase('send-report')).toBe('SendReport');
    expect(pascalCase('send_report')).toBe('SendReport');
    expect(pascalCase('send-http-request2')).toBe('SendHttpRequest2');
    expect(pascalCase('HTTPLimit')).toBe('HTTPLimit');
    expect(pascalCase('Send_Report')).toBe('Send_Report');
    for (const bad of ['1Shipped', 'order.shipped', 'send--report', '-send', 'send-', ''])
      expect(pascalCase(bad), bad).toBe(bad);
  });
});

describe('suggestCommands (unknown command names)', () => {
  const names = [
    'help',
    'list',
    'migrate',
    'make:job',
    'make:job-middleware',
    'queue:work',
    'queue:failed',
    'queue:failed-table',
    'queue:retry',
    'queue:retry-batch',
  ];

  it('compares the part after the colon too, so a short name finds its command', () => {
    expect(suggestCommands('work', names)).toEqual(['queue:work']);
    expect(suggestCommands('retry', names)).toEqual(['queue:retry']);
    expect(suggestCommands('wrok', names)).toEqual(['queue:work']);
  });

  it('still corrects typos in whole names, keeps ties, and suggests nothing far away', () => {
    expect(suggestCommands('queue:wrk', names)).toEqual(['queue:work']);
    expect(suggestCommands('queue:fialed', names)).toEqual(['queue:failed']);
    expect(suggestCommands('lst', ['list', 'last'])).toEqual(['last', 'list']);
    expect(suggestCommands('xyzzy', names)).toEqual([]);
  });
});
