import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { describeEachEngine, freshStore } from '../helpers/databases.js';
import { pushJobsForTest } from '../helpers/raw-jobs.js';
import { ROOT, runCli } from '../helpers/run-cli.js';
import { DURATION } from '../helpers/worker-line.js';
import { createWorkerApp, type StoreApp } from '../helpers/worker-process.js';

const distIndex = pathToFileURL(path.join(ROOT, 'dist/index.js')).href;

// One line, as a terminal of any width prints it: time, name, dots, duration, FAIL, then why.
const failLine = (name: string, reason: string) =>
  new RegExp(`^ {2}\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d ${name} \\.+ ${DURATION} FAIL — ${reason}$`, 'gm');

await describeEachEngine('queue:work output says why a job failed', (engine) => {
  let app: StoreApp;

  beforeAll(async () => {
    const jobs = path.join(mkdtempSync(path.join(os.tmpdir(), 'errand-output-')), 'jobs.mjs');
    writeFileSync(
      jobs,
      `import { Job, Queueable } from '${distIndex}';
export const SendReport = Job({ name: 'SendReport' })(class SendReport extends Queueable {
  async handle() { const report = undefined; return report.title; }
});
class ReportTooLarge extends Error {}
export const ExportReport = Job({ name: 'ExportReport' })(class ExportReport extends Queueable {
  async handle() { throw new ReportTooLarge('the export failed:\\n    row 1: ' + 'x'.repeat(400)); }
});
`,
    );
    app = await createWorkerApp(await freshStore(engine, 'worker_output'), {
      bootstrap: [jobs],
      prefix: 'errand-output-',
    });
  });
  afterAll(() => app?.close());

  // Payloads as another process would write them: SendReport gets two attempts.
  const queueBoth = () =>
    pushJobsForTest(app.queue(), 2, (i) =>
      i === 0 ? { name: 'SendReport', command: {}, maxTries: 2 } : { name: 'ExportReport', command: {} },
    );

  it('a FAIL line (released for a retry, or failed for good) ends with the class and message on one line; no stack without -v', async () => {
    await queueBoth();
    const result = await runCli(['queue:work', '--stop-when-empty', '--sleep=0', '--backoff=0'], app.dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // Two attempts: the first released (yellow FAIL), the second failed for good (red FAIL).
    expect(
      result.stdout.match(
        failLine('SendReport', "TypeError: Cannot read properties of undefined \\(reading 'title'\\)"),
      ),
    ).toHaveLength(2);
    // The subclass is named though it never set `name`; the newline and indent became one space; the rest was cut.
    const [exported] =
      result.stdout.match(failLine('ExportReport', 'ReportTooLarge: the export failed: row 1: x+…')) ?? [];
    expect(exported).toBeDefined();
    expect(exported!.slice(exported!.indexOf('— ') + 2)).toHaveLength(300);
    expect(result.stdout).not.toMatch(/^\s+at /m);
  });

  it('-v prints the stack under each FAIL line, indented', async () => {
    await queueBoth();
    const result = await runCli(['queue:work', '--stop-when-empty', '--sleep=0', '--backoff=0', '-v'], app.dir);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const failed = lines.findIndex((line) =>
      new RegExp(String.raw`SendReport \.+ ${DURATION} FAIL — TypeError`).test(line),
    );
    expect(failed).toBeGreaterThan(-1);
    expect(lines[failed + 1]).toBe("    TypeError: Cannot read properties of undefined (reading 'title')");
    expect(lines[failed + 2]).toMatch(/^ {8}at SendReport\.handle \(file:.*jobs\.mjs:\d+:\d+\)$/);
    // The whole message, newline included, is in the stack below the cut summary.
    expect(result.stdout).toContain(
      `    Error: the export failed:\n        row 1: ${'x'.repeat(400)}\n        at ExportReport.handle`,
    );
  });
});
