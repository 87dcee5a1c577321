import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/run-cli.js';

const run = promisify(execFile);

/** The first JSON block of docs/getting-started.md: the tsconfig.json it tells you to write. */
function documentedTsconfig(): string {
  const doc = readFileSync(path.join(ROOT, 'docs/getting-started.md'), 'utf8');
  const block = /```json\n([\s\S]*?)\n```/.exec(doc);
  expect(block, 'a ```json block in getting-started.md').not.toBeNull();
  return block![1]!;
}

describe("getting-started.md's tsconfig.json", () => {
  it('builds src/ with a test file beside it in test/, and keeps the metadata injection needs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-tsconfig-'));
    // The packages the guide installs (errand, reflect-metadata, typescript, @types/node), from this checkout.
    mkdirSync(path.join(dir, 'node_modules/@types'), { recursive: true });
    symlinkSync(ROOT, path.join(dir, 'node_modules/errand'), 'dir');
    symlinkSync(path.join(ROOT, 'node_modules/@types/node'), path.join(dir, 'node_modules/@types/node'), 'dir');
    symlinkSync(
      path.join(ROOT, 'node_modules/reflect-metadata'),
      path.join(dir, 'node_modules/reflect-metadata'),
      'dir',
    );
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    writeFileSync(path.join(dir, 'tsconfig.json'), documentedTsconfig());
    mkdirSync(path.join(dir, 'src/jobs'), { recursive: true });
    writeFileSync(
      path.join(dir, 'src/jobs/send-welcome-mail.ts'),
      [
        "import { Inject, injectable, Job, Queueable } from 'errand';",
        '',
        '@injectable()',
        'export class Mailer {',
        '  send(to: number): string {',
        '    return `mail to ${to}`;',
        '  }',
        '}',
        '',
        "@Job({ queue: 'mail' })",
        'export class SendWelcomeMail extends Queueable {',
        '  constructor(public userId: number) {',
        '    super();',
        '  }',
        '',
        '  @Inject()',
        '  async handle(mailer: Mailer): Promise<void> {',
        '    console.log(mailer.send(this.userId), this.job.id);',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    mkdirSync(path.join(dir, 'test'));
    // A test file outside rootDir: without "include" tsc takes it too and stops with TS6059.
    writeFileSync(
      path.join(dir, 'test/send-welcome-mail.test.ts'),
      "import { SendWelcomeMail } from '../src/jobs/send-welcome-mail.js';\nexport const job = new SendWelcomeMail(1);\n",
    );

    const compiled = await run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir]).catch(
      (error: { stdout: string; stderr: string }) => error,
    );
    expect(compiled.stdout + compiled.stderr).toBe('');
    expect(readFileSync(path.join(dir, 'dist/jobs/send-welcome-mail.js'), 'utf8')).toContain(
      '__metadata("design:paramtypes", [Mailer])',
    );
  });
});
