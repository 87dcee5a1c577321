import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { METADATA_SETTINGS } from '../../src/decorators/param-types.js';
import { describeEachEngine, freshStore, storeConnections, type TestStore } from '../helpers/databases.js';
import { pushJobsForTest } from '../helpers/raw-jobs.js';
import { ROOT, runCli, runNode } from '../helpers/run-cli.js';
import { DURATION } from '../helpers/worker-line.js';
import { createWorkerApp, type StoreApp } from '../helpers/worker-process.js';

const distIndex = pathToFileURL(path.join(ROOT, 'dist/index.js')).href;

/** A job module that appends its name and `text` to `notes.txt` in `dir`. */
function noteJob(dir: string, name: string): string {
  return `import { appendFileSync } from 'node:fs';
import { Job, Queueable } from '${distIndex}';
export const ${name} = Job({ name: '${name}' })(class ${name} extends Queueable {
  async handle() { appendFileSync(${JSON.stringify(path.join(dir, 'notes.txt'))}, '${name} ' + this.text + '\\n'); }
});
`;
}

/** Rewrites the app's config with this `bootstrap`, keeping its connections. */
function setBootstrap(app: StoreApp, store: TestStore, bootstrap: unknown): void {
  const config = { default: store.default, connections: storeConnections(store) };
  writeFileSync(
    path.join(app.dir, 'errand.config.mjs'),
    `export default ${JSON.stringify(bootstrap === undefined ? config : { ...config, bootstrap })};\n`,
  );
}

const work = (app: StoreApp) => runCli(['queue:work', '--stop-when-empty', '--sleep=0'], app.dir);

await describeEachEngine('queue:work and its bootstrap', (engine) => {
  let app: StoreApp;
  let store: TestStore;

  afterEach(() => app?.close());

  async function appWithJobs(name: string): Promise<void> {
    store = await freshStore(engine, `bootstrap_${name}`);
    app = await createWorkerApp(store, { bootstrap: [], prefix: 'errand-bootstrap-' });
    mkdirSync(path.join(app.dir, 'dist/jobs/reports'), { recursive: true });
    writeFileSync(path.join(app.dir, 'dist/jobs/send-invoice.js'), noteJob(app.dir, 'SendInvoice'));
    writeFileSync(path.join(app.dir, 'dist/jobs/reports/send-report.mjs'), noteJob(app.dir, 'SendReport'));
    // Neither a module nor a job: a directory or a glob must pass these by.
    writeFileSync(path.join(app.dir, 'dist/jobs/send-invoice.d.ts'), 'export declare const SendInvoice: unknown;\n');
    writeFileSync(path.join(app.dir, 'dist/jobs/send-invoice.js.map'), '{}\n');
    // A compiled test: importing it would need the test runner, which the worker does not have.
    writeFileSync(
      path.join(app.dir, 'dist/jobs/send-invoice.test.js'),
      "import { it } from 'vitest';\nit('sends', () => {});\n",
    );
  }

  const queueBoth = (tag: string) =>
    pushJobsForTest(app.queue(), 2, (i) =>
      i === 0 ? { name: 'SendInvoice', command: { text: tag } } : { name: 'SendReport', command: { text: tag } },
    );

  it('a bootstrap directory, or a glob, imports every job module under it: the second job needs no config change', async () => {
    await appWithJobs('dir_glob');
    setBootstrap(app, store, './dist/jobs');
    await queueBoth('dir');
    const byDirectory = await work(app);
    expect(byDirectory.stderr).toBe('');
    expect(byDirectory.code).toBe(0);
    expect(byDirectory.stdout).toMatch(new RegExp(String.raw` SendInvoice \.+ ${DURATION} DONE$`, 'm'));
    expect(byDirectory.stdout).toMatch(new RegExp(String.raw` SendReport \.+ ${DURATION} DONE$`, 'm'));

    setBootstrap(app, store, ['./dist/**/*.{js,mjs}']);
    await queueBoth('glob');
    const byGlob = await work(app);
    expect(byGlob.stderr).toBe('');
    expect(byGlob.code).toBe(0);
    expect(readFileSync(path.join(app.dir, 'notes.txt'), 'utf8').split('\n').sort()).toEqual([
      '',
      'SendInvoice dir',
      'SendInvoice glob',
      'SendReport dir',
      'SendReport glob',
    ]);
  });

  it("warns in one line at start when no job class is registered, and the unknown job's FAIL line names the class and the bootstrap", async () => {
    await appWithJobs('none');
    setBootstrap(app, store, undefined);
    await pushJobsForTest(app.queue(), 1, () => ({ name: 'SendInvoice', command: { text: 'x' } }));
    const result = await work(app);
    expect(result.code).toBe(0);
    const config = path.join(app.dir, 'errand.config.mjs');
    expect(result.stderr.trim().split('\n')).toEqual([
      `WARN  No job class is registered: ${config} sets no \`bootstrap\`, so every job this worker claims will fail as unknown. ` +
        "Set `bootstrap` to the compiled file, directory or glob of your @Job classes, e.g. bootstrap: './dist/jobs'.",
    ]);
    expect(result.stdout).toMatch(
      new RegExp(
        String.raw`^ {2}\S+ \S+ SendInvoice \.+ ${DURATION} FAIL — PayloadError: Unknown job \[SendInvoice\]: no class is registered under that name\. The worker's \`bootstrap\` \(errand config\) did not import it: point \`bootstrap\` at the compiled module, directory or glob that declares it with @Job\.$`,
        'm',
      ),
    );
    // The path suggested follows a tsconfig.json's `extends` to the outDir its base sets.
    writeFileSync(path.join(app.dir, 'tsconfig.json'), JSON.stringify({ extends: './tsconfig.base.json' }));
    writeFileSync(
      path.join(app.dir, 'tsconfig.base.json'),
      JSON.stringify({ compilerOptions: { rootDir: 'src', outDir: 'build' } }),
    );
    expect((await work(app)).stderr).toContain("e.g. bootstrap: './build/jobs'.");
    const [failed] = (await app.knex('failed_jobs').select('exception')) as Array<{ exception: string }>;
    expect(failed!.exception).toMatch(
      /^PayloadError: Unknown job \[SendInvoice\]: no class is registered under that name\. The worker's `bootstrap` \(errand config\) did not import it: point `bootstrap` at the compiled module, directory or glob that declares it with @Job\.\n/,
    );

    // A bootstrap that loads but declares no job: the same warning, naming what it loaded.
    writeFileSync(path.join(app.dir, 'dist/services.js'), 'export const ready = true;\n');
    setBootstrap(app, store, './dist/services.js');
    const empty = await work(app);
    expect(empty.stderr.trim().split('\n')).toEqual([
      `WARN  No job class is registered: the \`bootstrap\` of ${config} loads ${path.join(app.dir, 'dist/services.js')}, none declaring a @Job class or queued @Listener, ` +
        'so every job this worker claims will fail as unknown. Point `bootstrap` at the compiled modules that declare your @Job classes (a file, a directory or a glob).',
    ]);
  });

  it('refuses to start while a job of the bootstrap takes services it has no types for, naming every such class; a script that only dispatches it is fine', async () => {
    await appWithJobs('no_param_types');
    // Plain JavaScript, as esbuild or tsx leave a job: handle(greeter) with no design:paramtypes.
    const untyped = (name: string, className: string) =>
      `import { Job, Queueable } from '${distIndex}';\nexport const ${className} = Job({ name: '${name}' })(class ${className} extends Queueable { async handle(greeter) {} });\n`;
    writeFileSync(path.join(app.dir, 'dist/jobs/notify-owner.js'), untyped('NotifyOwner', 'NotifyOwner'));
    writeFileSync(path.join(app.dir, 'dist/jobs/reports/audit.js'), untyped('reports.Audit', 'AuditReport'));
    setBootstrap(app, store, './dist/jobs');

    // A web server or a test that only dispatches imports the class and pushes the job.
    writeFileSync(
      path.join(app.dir, 'dispatch.mjs'),
      `import { boot, shutdown } from '${distIndex}';\nimport { NotifyOwner } from './dist/jobs/notify-owner.js';\n` +
        `await boot(undefined, { configFile: './errand.config.mjs' });\nawait NotifyOwner.dispatch();\nawait shutdown();\n`,
    );
    const dispatched = await runNode(['dispatch.mjs'], app.dir);
    expect(dispatched.stderr).toBe('');
    expect(dispatched.code).toBe(0);
    expect(await app.jobCount()).toBe(1);

    const result = await work(app);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toBe(
      'ERROR  The worker cannot start: 2 jobs cannot have their handle() services resolved. ' +
        'Job NotifyOwner: handle() takes 1 parameter(s) but no parameter types were emitted for it (design:paramtypes); ' +
        'Job reports.Audit (class AuditReport): handle() takes 1 parameter(s) but no parameter types were emitted for it (design:paramtypes). ' +
        `Put @Inject() on handle(), and ${METADATA_SETTINGS}`,
    );
    expect(await app.jobCount()).toBe(1);
  });

  it('fails the attempt of such a job registered only after the worker started (imported lazily), with the same settings', async () => {
    await appWithJobs('lazy_untyped');
    mkdirSync(path.join(app.dir, 'dist/later'));
    writeFileSync(
      path.join(app.dir, 'dist/later/untyped.js'),
      `import { Job, Queueable } from '${distIndex}';\nexport const Untyped = Job()(class Untyped extends Queueable { async handle(greeter) {} });\n`,
    );
    writeFileSync(
      path.join(app.dir, 'dist/jobs/queue-later.js'),
      `import { Job, Queueable } from '${distIndex}';\nexport const QueueLater = Job()(class QueueLater extends Queueable {\n` +
        `  async handle() { const { Untyped } = await import('../later/untyped.js'); await Untyped.dispatch(); }\n});\n`,
    );
    setBootstrap(app, store, './dist/jobs/queue-later.js');
    await pushJobsForTest(app.queue(), 1, () => ({ name: 'QueueLater', command: {} }));
    const result = await work(app);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ QueueLater \.+ \S+ DONE$/m);
    expect(result.stdout).toMatch(
      / Untyped \.+ \S+ FAIL — BindingResolutionError: Untyped\.handle\(\) takes 1 parameter\(s\) but no type metadata was found: decorate handle\(\) with @Inject\(\)/m,
    );
    const failed = (await app.knex('failed_jobs').select('exception')) as Array<{ exception: string }>;
    expect(failed.map((row) => row.exception.split('\n')[0])).toEqual([
      `BindingResolutionError: Untyped.handle() takes 1 parameter(s) but no type metadata was found: decorate handle() with @Inject(), and ${METADATA_SETTINGS}`,
    ]);
  });
});

describe('a bootstrap that names nothing Node can import', () => {
  function app(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-bootstrap-ts-'));
    mkdirSync(path.join(dir, 'src/jobs'), { recursive: true });
    writeFileSync(path.join(dir, 'src/jobs/send-invoice.ts'), 'export {};\n');
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      '{\n  // comments are allowed here\n  "compilerOptions": { "rootDir": "src", "outDir": "dist", },\n}\n',
    );
    return dir;
  }

  it.each([
    [
      'a TypeScript file',
      './src/jobs/send-invoice.ts',
      "The bootstrap module {dir}/src/jobs/send-invoice.ts (config `bootstrap` in {dir}/errand.config.mjs) is TypeScript, which Node cannot import: compile it (npx tsc) and point `bootstrap` at its .js output, './dist/jobs/send-invoice.js' (outDir of {dir}/tsconfig.json).",
    ],
    [
      'a compiled file not built yet',
      './dist/jobs/send-invoice.js',
      'The bootstrap path {dir}/dist/jobs/send-invoice.js (config `bootstrap` in {dir}/errand.config.mjs) does not exist; its source {dir}/src/jobs/send-invoice.ts exists: compile it (npx tsc) first.',
    ],
    [
      'a directory of TypeScript',
      './src/jobs',
      'The bootstrap directory {dir}/src/jobs (config `bootstrap` in {dir}/errand.config.mjs) holds TypeScript sources only: compile them (npx tsc) and point `bootstrap` at their output directory, ./dist/jobs.',
    ],
    [
      'a glob of TypeScript',
      './src/**/*.ts',
      "The bootstrap pattern {dir}/src/**/*.ts (config `bootstrap` in {dir}/errand.config.mjs) matches TypeScript sources only ({dir}/src/jobs/send-invoice.ts): compile them (npx tsc) and point `bootstrap` at their .js output, './dist/**/*.js' (outDir of {dir}/tsconfig.json).",
    ],
    [
      'a glob matching nothing',
      './dist/**/*.js',
      'The bootstrap pattern {dir}/dist/**/*.js (config `bootstrap` in {dir}/errand.config.mjs) matches no .js, .mjs or .cjs file; build the app first, or fix the pattern.',
    ],
  ])('%s: queue:work refuses it, saying what to compile and where to point', async (_what, bootstrap, message) => {
    const dir = app();
    writeFileSync(path.join(dir, 'errand.config.mjs'), `export default { bootstrap: ${JSON.stringify(bootstrap)} };\n`);
    const result = await runCli(['queue:work', '--once'], dir);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(`ERROR  ${message.replaceAll('{dir}', dir)}`);
  });
});
