import { expect, it } from 'vitest';

import { progressBar } from '../../src/console/progress-bar.js';
import { textTable } from '../../src/console/text-table.js';

it('textTable pads every column but the last to its widest cell', () => {
  expect(
    textTable(
      ['ID', 'Queue', 'Error'],
      [
        ['1', 'emails', 'Error: boom'],
        ['12', 'a', 'x'],
      ],
    ).split('\n'),
  ).toEqual(['  ID  Queue   Error', '  --  ------  -----------', '  1   emails  Error: boom', '  12  a       x']);
});

it('progressBar redraws one line in place and ends it', () => {
  let out = '';
  const bar = progressBar(4, { write: (s: string) => (out += s) } as unknown as NodeJS.WriteStream, 4);
  bar.tick();
  bar.tick();
  bar.finish();
  expect(out).toBe('\r  [    ] 0/4\r  [=   ] 1/4\r  [==  ] 2/4\n');
});
