import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { Command } from 'commander';
import pc from 'picocolors';

import type { GeneratorPaths, ResolvedConfig } from '../../config/config-types.js';
import { loadConfig } from '../../config/load-config.js';
import { ConfigError } from '../../errors/config-error.js';
import { bootstrapHint } from '../bootstrap-hint.js';
import { readStub, renderStub } from '../stubs.js';

const CLASS_NAME = /^[A-Z][A-Za-z0-9_]*$/;
/** Words in camelCase, kebab-case or snake_case, which `pascalCase` turns into a class name. */
const WORDS = /^[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*$/;
const CONVERTED = '(camelCase, kebab-case and snake_case are converted)';

/**
 * `errand make:job`, `make:listener`, `make:event` and `make:job-middleware`: write a class from `stubs/*.stub` (the
 * app's own `stubs/` wins) into the directory `paths` in the config names, or `--path`.
 */
export function registerMakeCommands(program: Command): void {
  program
    .command('make:job')
    .description('Write a new job class')
    .argument('<name>', `the class name, e.g. SendInvoice ${CONVERTED}`)
    .option('--sync', 'a job run in-process with dispatchSync (no queue options)', false)
    .option('--batched', 'a job for Bus.batch() that returns early when its batch is cancelled', false)
    .option('--path <dir>', 'directory to write it in (default: paths.jobs in the config, else src/jobs)')
    .option('-f, --force', 'overwrite the file if it exists', false)
    .action(
      async (
        typed: string,
        flags: { sync: boolean; batched: boolean; path?: string; force: boolean },
        command: Command,
      ) => {
        if (flags.sync && flags.batched)
          throw new ConfigError('make:job: --sync and --batched exclude each other (a batch is queued).');
        const stub = flags.batched ? 'job.batched.stub' : flags.sync ? 'job.sync.stub' : 'job.stub';
        // With --path the config is only read for the hint below: one that does not load must not stop the generator.
        const config =
          flags.path === undefined ? await configOf(command) : await configOf(command).catch(() => undefined);
        const dir = flags.path === undefined ? config!.paths.jobs : path.resolve(flags.path);
        const name = className(typed);
        const file = writeClass('make:job', dir, name, readStub(stub), {}, flags.force);
        report('Job', file);
        // The class is useless to a worker that never imports it: say what to add while the user is here.
        const hint = config && bootstrapHint(config, file, name);
        if (hint) console.log(`  ${pc.bgYellow(pc.black(' NOTE '))} ${hint}\n`);
      },
    );

  program
    .command('make:listener')
    .description('Write a new event listener class')
    .argument('<name>', `the class name, e.g. SendShipmentNotification ${CONVERTED}`)
    .option('-e, --event <event>', 'the event class it listens to, imported from the events directory')
    .option('--queued', 'run the listener on a worker (needs --event)', false)
    .option('--path <dir>', 'directory to write it in (default: paths.listeners in the config, else src/listeners)')
    .option('-f, --force', 'overwrite the file if it exists', false)
    .action(
      async (
        name: string,
        flags: { event?: string; queued: boolean; path?: string; force: boolean },
        command: Command,
      ) => {
        const dir = await targetDir(command, 'listeners', flags.path);
        if (flags.event === undefined) {
          if (flags.queued) {
            throw new ConfigError(
              'make:listener --queued needs --event=Event: a queued listener is wired by @Listener, which must know the event it hears.',
            );
          }
          report(
            'Listener',
            writeClass('make:listener', dir, className(name), readStub('listener.plain.stub'), {}, flags.force),
          );
          return;
        }
        const event = className(flags.event);
        checkClassName('make:listener --event', event);
        const eventsDir = await targetDir(command, 'events');
        const eventFile = path.join(eventsDir, `${kebabCase(event)}.ts`);
        let eventImport = path.relative(dir, eventFile).split(path.sep).join('/').replace(/\.ts$/, '.js');
        if (!eventImport.startsWith('.')) eventImport = `./${eventImport}`;
        const stub = readStub(flags.queued ? 'listener.queued.stub' : 'listener.stub');
        report(
          'Listener',
          writeClass('make:listener', dir, className(name), stub, { event, eventImport }, flags.force),
        );
        if (!existsSync(eventFile)) {
          console.log(
            `  ${pc.bgYellow(pc.black(' NOTE '))} Event [${path.relative(process.cwd(), eventFile)}] does not exist yet: errand make:event ${event}\n`,
          );
        }
      },
    );

  program
    .command('make:event')
    .description('Write a new event class')
    .argument('<name>', `the class name, e.g. OrderShipped ${CONVERTED}`)
    .option('--path <dir>', 'directory to write it in (default: paths.events in the config, else src/events)')
    .option('-f, --force', 'overwrite the file if it exists', false)
    .action(async (name: string, flags: { path?: string; force: boolean }, command: Command) => {
      const dir = await targetDir(command, 'events', flags.path);
      report('Event', writeClass('make:event', dir, className(name), readStub('event.stub'), {}, flags.force));
    });

  program
    .command('make:job-middleware')
    .description('Write a new job middleware class')
    .argument('<name>', `the class name, e.g. EnsureTokenIsValid ${CONVERTED}`)
    .option(
      '--path <dir>',
      'directory to write it in (default: paths.middleware in the config, else src/jobs/middleware)',
    )
    .option('-f, --force', 'overwrite the file if it exists', false)
    .action(async (name: string, flags: { path?: string; force: boolean }, command: Command) => {
      const dir = await targetDir(command, 'middleware', flags.path);
      report(
        'Job middleware',
        writeClass('make:job-middleware', dir, className(name), readStub('job-middleware.stub'), {}, flags.force),
      );
    });
}

/** `--path` (relative to the working directory), else the config's `paths[kind]`. */
async function targetDir(command: Command, kind: keyof GeneratorPaths, flag?: string): Promise<string> {
  if (flag !== undefined) return path.resolve(flag);
  return (await configOf(command)).paths[kind];
}

/** The configuration `--config` (or the working directory) names. */
function configOf(command: Command): Promise<ResolvedConfig> {
  const { config } = command.optsWithGlobals<{ config?: string }>();
  return loadConfig({ file: config });
}

/**
 * The class name for a name typed in another case (`sendReport`, `send-report`, `send_report`:
 * `SendReport`), saying so on stdout; any other name is returned as typed, for writeClass to
 * accept or refuse.
 */
function className(name: string): string {
  const converted = pascalCase(name);
  if (converted !== name)
    console.log(
      `\n  ${pc.bgBlue(pc.white(' INFO '))} Class names are PascalCase: [${name}] is written as [${converted}].`,
    );
  return converted;
}

/** `sendReport`, `send-report`, `send_report` → `SendReport`; a class name, or a name that is not words, unchanged. */
export function pascalCase(name: string): string {
  if (CLASS_NAME.test(name) || !WORDS.test(name)) return name;
  return name
    .split(/[-_]/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

function checkClassName(command: string, name: string): void {
  if (!CLASS_NAME.test(name)) {
    throw new ConfigError(
      `${command}: [${name}] is not a class name; use PascalCase letters and digits, e.g. OrderShipped.`,
    );
  }
}

/**
 * Renders `template` for class `name` into `dir/<kebab-name>.ts`; refuses a name that is not a
 * class name, and an existing file (naming it) unless `force`.
 */
export function writeClass(
  command: string,
  dir: string,
  name: string,
  template: string,
  values: Record<string, string>,
  force = false,
): string {
  checkClassName(command, name);
  const file = path.join(dir, `${kebabCase(name)}.ts`);
  if (existsSync(file) && !force)
    throw new ConfigError(`${command}: ${file} already exists; pass --force to overwrite it.`);
  const text = renderStub(template, { ...values, class: name });
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, text);
  return file;
}

function report(kind: string, file: string): void {
  console.log(
    `\n  ${pc.bgBlue(pc.white(' INFO '))} ${kind} [${path.relative(process.cwd(), file)}] created successfully.\n`,
  );
}

/** `EnsureTokenIsValid` → `ensure-token-is-valid`, `HTTPLimit` → `http-limit`: the repo's file naming. */
export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .replace(/_/g, '-')
    .toLowerCase();
}
