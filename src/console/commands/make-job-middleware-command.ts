import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { Command } from 'commander';
import pc from 'picocolors';

import { ConfigError } from '../../errors/config-error.js';
import { readStub, renderStub } from '../stubs.js';

/** Where `make:job-middleware` writes when `--path` is not given. */
export const DEFAULT_JOB_MIDDLEWARE_PATH = 'src/jobs/middleware';

/**
 * `errand make:job-middleware Name [--path dir] [--force]`: writes a job middleware class from
 * `stubs/job-middleware.stub` (the app's own `stubs/` wins, as for every stub).
 */
export function registerMakeJobMiddlewareCommand(program: Command): void {
  program
    .command('make:job-middleware')
    .description('Write a new job middleware class')
    .argument('<name>', 'the class name, e.g. EnsureTokenIsValid')
    .option('--path <dir>', 'directory to write it in', DEFAULT_JOB_MIDDLEWARE_PATH)
    .option('-f, --force', 'overwrite the file if it exists', false)
    .action((name: string, flags: { path: string; force: boolean }) => {
      const file = writeJobMiddleware(path.resolve(flags.path), name, readStub('job-middleware.stub'), flags.force);
      console.log(`\n  ${pc.bgBlue(pc.white(' INFO '))} Job middleware [${path.relative(process.cwd(), file)}] created successfully.\n`);
    });
}

/**
 * Renders the stub for class `name` into `dir/<kebab-name>.ts`; refuses a name that is not a
 * class name, and an existing file unless `force`.
 */
export function writeJobMiddleware(dir: string, name: string, template: string, force = false): string {
  if (!/^[A-Z][A-Za-z0-9_]*$/.test(name)) {
    throw new ConfigError(`make:job-middleware: [${name}] is not a class name; use PascalCase letters and digits, e.g. EnsureTokenIsValid.`);
  }
  const file = path.join(dir, `${kebabCase(name)}.ts`);
  if (existsSync(file) && !force) throw new ConfigError(`Job middleware ${file} already exists; pass --force to overwrite it.`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, renderStub(template, { class: name }));
  return file;
}

/** `EnsureTokenIsValid` → `ensure-token-is-valid`, `HTTPLimit` → `http-limit`: the repo's file naming. */
export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .replace(/_/g, '-')
    .toLowerCase();
}
