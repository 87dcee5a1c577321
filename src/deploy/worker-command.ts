import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ConfigError } from '../errors/config-error.js';
import { hasWorkerArg } from './worker-args.js';

/**
 * The built errand CLI of this installation. Resolved from the package root rather than from this
 * module, so it names the same file whether this code runs from `dist/` or, in tests, from `src/`.
 */
export const ERRAND_CLI = fileURLToPath(new URL('../../dist/console/cli.js', import.meta.url));

/** What both the supervisord config and the systemd unit need to start a worker. */
export interface WorkerCommandOptions {
  /** The app's directory: the worker's working directory. Absolute. Default: `process.cwd()`. */
  directory?: string;
  /** The Unix user the worker runs as. Default: the supervisor's own user. */
  user?: string;
  /** The node binary. Default: the node running this code (`process.execPath`). */
  node?: string;
  /** The errand CLI script. Default: {@link ERRAND_CLI}. */
  cli?: string;
  /** An errand config file to pass as `--config`. Absolute. */
  configFile?: string;
  /** Arguments appended to `queue:work`, e.g. `['--queue=high,default', '--timeout=120']`. */
  workerArgs?: readonly string[];
}

/** {@link WorkerCommandOptions} with the defaults filled in and checked. */
export interface ResolvedWorkerCommand {
  directory: string;
  user: string | undefined;
  /** `node cli queue:work …` as separate, unquoted arguments. */
  argv: string[];
}

const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/;

/** Fills the defaults and rejects values that would break a one-line config entry. */
export function resolveWorkerCommand(options: WorkerCommandOptions): ResolvedWorkerCommand {
  const directory = options.directory ?? process.cwd();
  const node = options.node ?? process.execPath;
  const cli = options.cli ?? ERRAND_CLI;
  const workerArgs = options.workerArgs ?? [];
  requireAbsolute('--directory', directory);
  requireAbsolute('the errand CLI path', cli);
  if (node.includes('/')) requireAbsolute('--node', node);
  if (options.user !== undefined && !USER_NAME.test(options.user)) {
    throw new ConfigError(`--user must be a Unix user name, got "${options.user}".`);
  }
  // --config is the CLI's global option, so it goes before the command; one the user put among
  // the worker's arguments is their choice and wins.
  const config =
    options.configFile !== undefined && !hasWorkerArg(workerArgs, '--config')
      ? ['--config', requireAbsolute('--config', options.configFile)]
      : [];
  const argv = [node, cli, ...config, 'queue:work', ...workerArgs];
  for (const arg of argv) singleLine('a worker argument', arg);
  return { directory, user: options.user, argv };
}

/** Rejects a path that is not absolute: a supervisor's working directory is not the shell's. */
export function requireAbsolute(option: string, value: string): string {
  if (!path.isAbsolute(value)) throw new ConfigError(`${option} must be an absolute path, got "${value}".`);
  return singleLine(option, value);
}

/** Rejects a value with a line break, which would end its config entry early. */
export function singleLine(option: string, value: string): string {
  if (/[\r\n\0]/.test(value)) throw new ConfigError(`${option} must fit on one line, got ${JSON.stringify(value)}.`);
  return value;
}

/** Rejects a name that is not a plain word (letters, digits, `_`, `.`, `-`). */
export function plainName(option: string, value: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(value)) {
    throw new ConfigError(`${option} may hold only letters, digits, "_", "." and "-", got "${value}".`);
  }
  return value;
}
