import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { compileApp } from '../helpers/compile-app.js';
import { ROOT, runCli } from '../helpers/run-cli.js';

/** An app directory whose `errand` import resolves to this repository's build. */
function appDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-make-'));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(ROOT, path.join(dir, 'node_modules/errand'), 'dir');
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  return dir;
}

/** Runs the CLI in `dir` and expects it to succeed quietly. */
async function ok(dir: string, args: string[]): Promise<string> {
  const result = await runCli(args, dir);
  expect(result.stderr, args.join(' ')).toBe('');
  expect(result.code, args.join(' ')).toBe(0);
  return result.stdout;
}

describe('errand make:job, make:listener, make:event, make:job-middleware', () => {
  it('write where the config says (or --path), and everything they write compiles together with tsc', async () => {
    const dir = appDir();
    writeFileSync(
      path.join(dir, 'errand.config.mjs'),
      `export default { paths: { jobs: 'app/jobs', listeners: 'app/listeners', events: 'app/events', middleware: 'app/middleware' }, listeners: ['dist/app/listeners'] };\n`,
    );
    // Independent runs, in parallel to keep the test quick.
    const [event, job, , , , , , otherEvent, listener] = await Promise.all([
      ok(dir, ['make:event', 'OrderShipped']),
      ok(dir, ['make:job', 'SendInvoice']),
      ok(dir, ['make:job', 'ImportCsvRow', '--batched']),
      ok(dir, ['make:job', 'PruneCache', '--sync']),
      ok(dir, ['make:listener', 'SendShipmentNotification', '--event=OrderShipped', '--queued']),
      ok(dir, ['make:listener', 'AuditShipment', '--event', 'OrderShipped']),
      ok(dir, ['make:listener', 'LogEverything']),
      ok(dir, ['make:event', 'PodcastPublished', '--path', 'lib/events']),
      ok(dir, ['make:listener', 'NotifyListeners', '--event=PodcastPublished', '--path', 'lib/listeners']),
      ok(dir, ['make:job-middleware', 'EnsureTokenIsValid']),
    ]);
    expect(event).toContain(`Event [${path.join('app', 'events', 'order-shipped.ts')}] created successfully.`);
    expect(job).toContain(`Job [${path.join('app', 'jobs', 'send-invoice.ts')}] created successfully.`);
    expect(otherEvent).toContain(`Event [${path.join('lib', 'events', 'podcast-published.ts')}]`);
    expect(listener).toContain(
      'Event [app/events/podcast-published.ts] does not exist yet: errand make:event PodcastPublished',
    );

    expect(readdirSync(path.join(dir, 'app/middleware'))).toEqual(['ensure-token-is-valid.ts']);
    expect(readdirSync(path.join(dir, 'app/jobs')).sort()).toEqual([
      'import-csv-row.ts',
      'prune-cache.ts',
      'send-invoice.ts',
    ]);
    expect(readdirSync(path.join(dir, 'app/listeners')).sort()).toEqual([
      'audit-shipment.ts',
      'log-everything.ts',
      'send-shipment-notification.ts',
    ]);
    const read = (file: string) => readFileSync(path.join(dir, file), 'utf8');
    expect(read('app/jobs/import-csv-row.ts')).toContain('if (batch?.cancelled()) return;');
    expect(read('app/jobs/prune-cache.ts')).toContain('@Job()\nexport class PruneCache extends Queueable {');
    const queued = read('app/listeners/send-shipment-notification.ts');
    expect(queued).toContain("import { OrderShipped } from '../events/order-shipped.js';");
    expect(queued).toContain('@Listener({ queued: true, tries: 3 })');
    expect(queued).toContain('async handle(event: OrderShipped): Promise<void> {');
    expect(read('lib/listeners/notify-listeners.ts')).toContain(
      "import { PodcastPublished } from '../../app/events/podcast-published.js';",
    );

    // The listener points at an event make:event has not written: give it one where it looks.
    await ok(dir, ['make:event', 'PodcastPublished']);
    expect(await compileApp(dir, '.', ['app', 'lib'])).toBe('');

    // The compiled listeners wire themselves to the event by handle()'s type.
    const listed = await ok(dir, ['event:list', '--json']);
    expect(listed).toContain('AuditShipment');
    expect(listed).toContain('SendShipmentNotification');
    const rows = JSON.parse(listed) as Array<{ event: string; listeners: Array<{ name: string; queued: boolean }> }>;
    expect(
      rows
        .find((r) => r.event === 'OrderShipped')!
        .listeners.map((l) => [l.name, l.queued])
        .sort(),
    ).toEqual([
      ['AuditShipment', false],
      ['SendShipmentNotification', true],
    ]);
  }, 180_000);

  it('refuses bad class names, a queued listener without an event, and existing files (naming them)', async () => {
    const dir = appDir();
    const refused = async (args: string[], message: string) => {
      const result = await runCli(args, dir);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toContain(message);
    };
    await Promise.all([
      refused(['make:job', 'send--invoice'], 'make:job: [send--invoice] is not a class name'),
      refused(['make:event', '1Shipped'], 'make:event: [1Shipped] is not a class name'),
      refused(
        ['make:listener', 'Notify', '--event=order.shipped'],
        'make:listener --event: [order.shipped] is not a class name',
      ),
      refused(['make:listener', 'Notify', '--queued'], 'make:listener --queued needs --event=Event'),
      refused(['make:job', 'Sync', '--sync', '--batched'], '--sync and --batched exclude each other'),
    ]);
    expect(existsSync(path.join(dir, 'src'))).toBe(false);

    await Promise.all([ok(dir, ['make:job', 'SendInvoice']), ok(dir, ['make:event', 'OrderShipped'])]);
    await refused(
      ['make:job', 'SendInvoice', '--sync'],
      `make:job: ${path.join(dir, 'src/jobs/send-invoice.ts')} already exists; pass --force to overwrite it.`,
    );
    await ok(dir, ['make:job', 'SendInvoice', '--sync', '--force']);
    expect(readFileSync(path.join(dir, 'src/jobs/send-invoice.ts'), 'utf8')).toContain('@Job()\n');
    await refused(['make:event', 'OrderShipped'], `${path.join(dir, 'src/events/order-shipped.ts')} already exists`);

    writeFileSync(path.join(dir, 'errand.config.mjs'), `export default { paths: { job: 'x' } };\n`);
    await refused(['make:job', 'Other'], '`paths.job` in');
  }, 120_000);
});

describe('class names in another case', () => {
  it('are written in PascalCase, saying so: sendReport, send-report and send_report become SendReport', async () => {
    for (const typed of ['sendReport', 'send-report', 'send_report']) {
      const dir = appDir();
      const out = await ok(dir, ['make:job', typed]);
      expect(out).toContain(`Class names are PascalCase: [${typed}] is written as [SendReport].`);
      expect(readFileSync(path.join(dir, 'src/jobs/send-report.ts'), 'utf8')).toContain('export class SendReport ');
    }
    const dir = appDir();
    const listener = await ok(dir, ['make:listener', 'notify_owner', '--event=orderShipped']);
    expect(listener).toContain('[orderShipped] is written as [OrderShipped]');
    expect(listener).toContain('errand make:event OrderShipped');
    expect(readFileSync(path.join(dir, 'src/listeners/notify-owner.ts'), 'utf8')).toContain(
      'handle(event: OrderShipped)',
    );
    expect(await ok(dir, ['make:job', 'SendReport'])).not.toContain('PascalCase');
  });
});

describe('make:job and the bootstrap the worker loads', () => {
  it('says what to add to `bootstrap` (config file, option, path) until it takes in the new class, and names TypeScript entries', async () => {
    const dir = appDir();
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { rootDir: 'src', outDir: 'dist' } }),
    );
    const note = async (name: string, config?: string) => {
      if (config !== undefined) writeFileSync(path.join(dir, 'errand.config.mjs'), config);
      const out = await ok(dir, ['make:job', name]);
      return out
        .split('\n')
        .find((line) => line.includes('NOTE'))
        ?.trim();
    };
    const file = (name: string) => `./dist/jobs/${name}.js, per tsconfig.json`;

    expect(await note('SendInvoice')).toBe(
      `NOTE  There is no config file (errand.config.js, errand.config.mjs, errand.config.cjs), so queue:work imports no job: create errand.config.mjs with bootstrap: './dist/jobs'; SendInvoice compiles to ${file('send-invoice')}.`,
    );
    expect(await note('SendReport', 'export default {};\n')).toBe(
      `NOTE  errand.config.mjs sets no \`bootstrap\`, so queue:work will not know SendReport: add bootstrap: './dist/jobs'; SendReport compiles to ${file('send-report')}.`,
    );
    // The first job's file alone: the second job is the one forgotten.
    expect(await note('PruneCache', "export default { bootstrap: './dist/jobs/send-invoice.js' };\n")).toBe(
      "NOTE  `bootstrap` in errand.config.mjs (./dist/jobs/send-invoice.js) will not import PruneCache, which compiles to ./dist/jobs/prune-cache.js, per tsconfig.json: add './dist/jobs' (its directory) or './dist/jobs/prune-cache.js' to `bootstrap`.",
    );
    expect(await note('ImportRow', "export default { bootstrap: './src/jobs' };\n")).toBe(
      `NOTE  \`bootstrap\` in errand.config.mjs names TypeScript (./src/jobs), which Node cannot import: compile (npx tsc) and point it at './dist/jobs'; ImportRow compiles to ${file('import-row')}.`,
    );
    expect(
      await note('ExportRow', "export default { bootstrap: ['./dist/services.js', './src/jobs/send-invoice.ts'] };\n"),
    ).toContain('names TypeScript (./src/jobs/send-invoice.ts), which Node cannot import');
    // A directory or a glob that takes the compiled class in: nothing to add.
    expect(await note('SyncStock', "export default { bootstrap: './dist/jobs' };\n")).toBeUndefined();
    expect(await note('SyncPrices', "export default { bootstrap: ['./dist/**/*.js'] };\n")).toBeUndefined();
  }, 60_000);
});

describe('make:job and a tsconfig.json that extends a base', () => {
  const note = async (dir: string, name: string) =>
    (await ok(dir, ['make:job', name]))
      .split('\n')
      .find((line) => line.includes('NOTE'))
      ?.trim();

  it('names the outDir a base config sets, and never a directory of .ts sources', async () => {
    const dir = appDir();
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ extends: './config/tsconfig.base.json', include: ['src'] }),
    );
    mkdirSync(path.join(dir, 'config'));
    writeFileSync(
      path.join(dir, 'config/tsconfig.base.json'),
      JSON.stringify({ compilerOptions: { rootDir: '../src', outDir: '../build' } }),
    );
    writeFileSync(path.join(dir, 'errand.config.mjs'), 'export default {};\n');
    expect(await note(dir, 'SendInvoice')).toBe(
      "NOTE  errand.config.mjs sets no `bootstrap`, so queue:work will not know SendInvoice: add bootstrap: './build/jobs'; SendInvoice compiles to ./build/jobs/send-invoice.js, per tsconfig.json.",
    );
    // No outDir anywhere: the .js is written beside the .ts, so the suggestion is a glob of it.
    writeFileSync(path.join(dir, 'config/tsconfig.base.json'), JSON.stringify({ compilerOptions: { strict: true } }));
    expect(await note(dir, 'SendReport')).toBe(
      "NOTE  errand.config.mjs sets no `bootstrap`, so queue:work will not know SendReport: add bootstrap: './src/jobs/**/*.js'; SendReport compiles to ./src/jobs/send-report.js.",
    );
  });

  it('names no path, and does not say the bootstrap will not import the class, when the base cannot be found', async () => {
    const dir = appDir();
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ extends: '@acme/tsconfig' }));
    writeFileSync(path.join(dir, 'errand.config.mjs'), "export default { bootstrap: './dist/jobs' };\n");
    const reason = `its outDir is unknown: ${path.join(dir, 'tsconfig.json')} extends "@acme/tsconfig", which errand could not find`;
    expect(await note(dir, 'SendInvoice')).toBe(
      `NOTE  Check that \`bootstrap\` in errand.config.mjs (./dist/jobs) takes in the compiled output of SendInvoice (${reason}).`,
    );
    writeFileSync(path.join(dir, 'errand.config.mjs'), 'export default {};\n');
    expect(await note(dir, 'SendReport')).toBe(
      `NOTE  errand.config.mjs sets no \`bootstrap\`, so queue:work will not know SendReport: set it to the compiled output of SendReport (${reason}).`,
    );
  });
});

describe('errand stub:publish', () => {
  it("copies errand's stubs into ./stubs, which then win; existing ones are kept unless --force", async () => {
    const dir = appDir();
    const shipped = readdirSync(path.join(ROOT, 'stubs'))
      .filter((f) => f.endsWith('.stub'))
      .sort();
    expect(shipped).toEqual(
      expect.arrayContaining([
        'event.stub',
        'job.batched.stub',
        'job.stub',
        'job.sync.stub',
        'listener.queued.stub',
        'listener.stub',
      ]),
    );
    const first = await ok(dir, ['stub:publish']);
    for (const name of shipped) expect(first).toContain(`${path.join('stubs', name)} DONE`);
    expect(readdirSync(path.join(dir, 'stubs')).sort()).toEqual(shipped);

    writeFileSync(path.join(dir, 'stubs/job.stub'), '// ours\nexport class {{ class }} {}\n');
    await ok(dir, ['make:job', 'Ours']);
    expect(readFileSync(path.join(dir, 'src/jobs/ours.ts'), 'utf8')).toBe('// ours\nexport class Ours {}\n');

    const again = await ok(dir, ['stub:publish']);
    expect(again).toContain(`${path.join('stubs', 'job.stub')} SKIPPED (exists; --force overwrites it)`);
    expect(again).toContain(`0 stub(s) published to [stubs], ${shipped.length} kept`);
    expect(readFileSync(path.join(dir, 'stubs/job.stub'), 'utf8')).toBe('// ours\nexport class {{ class }} {}\n');

    expect(await ok(dir, ['stub:publish', '--force'])).toContain(`${path.join('stubs', 'job.stub')} DONE`);
    expect(readFileSync(path.join(dir, 'stubs/job.stub'), 'utf8')).toBe(
      readFileSync(path.join(ROOT, 'stubs/job.stub'), 'utf8'),
    );
  });
});

describe('errand list', () => {
  it('prints the commands grouped by prefix, and a typo still gets a suggestion', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-list-'));
    const text = await ok(dir, ['list']);
    const lines = text.split('\n');
    const header = (name: string) => lines.indexOf(name);
    expect(header('Available commands:')).toBeGreaterThan(0);
    for (const group of [' event', ' make', ' queue', ' stub'])
      expect(header(group), group).toBeGreaterThan(header('Available commands:'));
    expect(header(' make')).toBeLessThan(header(' queue'));
    const makeBlock = lines.slice(header(' make') + 1, header(' queue'));
    expect(makeBlock.map((l) => l.trim().split(/\s+/)[0])).toEqual(
      expect.arrayContaining(['make:event', 'make:job', 'make:job-middleware', 'make:listener']),
    );
    expect(makeBlock.every((l) => l.trim().startsWith('make:'))).toBe(true);
    expect(text).toMatch(/ {2}make:job +Write a new job class/);
    expect(
      lines.slice(header('Available commands:') + 1, header(' event')).map((l) => l.trim().split(/\s+/)[0]),
    ).toEqual(expect.arrayContaining(['help', 'list', 'migrate']));

    const groups = JSON.parse(await ok(dir, ['list', '--json'])) as Array<{
      group: string;
      commands: Array<{ name: string }>;
    }>;
    expect(groups.map((g) => g.group)).toEqual(expect.arrayContaining(['', 'event', 'make', 'queue', 'stub']));
    for (const { group, commands } of groups)
      for (const c of commands) expect(c.name.startsWith(group ? `${group}:` : '')).toBe(true);

    expect(await ok(dir, ['--help'])).toMatch(/\nmake:\n {2}/);
    const typo = await runCli(['make:jb', 'X'], dir);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('(Did you mean make:job?)');
    const helpTypo = await runCli(['help', 'queue:fialed'], dir);
    expect(helpTypo.code).toBe(1);
    expect(helpTypo.stderr).toContain("unknown command 'queue:fialed'");
    expect(helpTypo.stderr).toContain('(Did you mean queue:failed?)');
  });
});
