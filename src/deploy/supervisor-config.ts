import path from 'node:path';

import { readStub } from '../console/stubs.js';
import { ConfigError } from '../errors/config-error.js';
import { renderConfigStub } from './render-config-stub.js';
import { STOP_MARGIN_SECONDS, stopWaitSeconds, workerGraceSeconds } from './worker-args.js';
import { plainName, requireAbsolute, resolveWorkerCommand, type WorkerCommandOptions } from './worker-command.js';

/** Options for {@link renderSupervisorConfig}. */
export interface SupervisorConfigOptions extends WorkerCommandOptions {
  /** The `[program:…]` name. Default `errand-worker`. */
  program?: string;
  /** How many worker processes supervisord keeps running. Default 2. */
  numprocs?: number;
  /** Where the workers' output goes. Absolute. Default `<directory>/<program>.log`. */
  log?: string;
}

/** The program name `errand queue:supervisor` uses when given none. */
export const DEFAULT_SUPERVISOR_PROGRAM = 'errand-worker';

/** How many worker processes `errand queue:supervisor` configures when given no `--numprocs`. */
export const DEFAULT_NUMPROCS = 2;

/**
 * A supervisord `[program:…]` section that keeps `numprocs` errand workers running. The template
 * defaults to the `supervisor.conf.stub` an app may override in its own `stubs/` directory.
 */
export function renderSupervisorConfig(options: SupervisorConfigOptions = {}, template?: string): string {
  const program = plainName('--program', options.program ?? DEFAULT_SUPERVISOR_PROGRAM);
  const numprocs = options.numprocs ?? DEFAULT_NUMPROCS;
  if (!Number.isInteger(numprocs) || numprocs < 1)
    throw new ConfigError(`--numprocs must be a whole number ≥ 1, got "${numprocs}".`);
  const { directory, user, argv } = resolveWorkerCommand(options);
  const log = requireAbsolute('--log', options.log ?? path.join(directory, `${program}.log`));
  const workerArgs = options.workerArgs ?? [];
  noInlineComment('--directory', directory);
  noInlineComment('--log', log);
  for (const arg of argv) noInlineComment('a worker argument', arg);
  return renderConfigStub(template ?? readStub('supervisor.conf.stub'), {
    program,
    command: escapePercent(argv.map(shellQuote).join(' '), PROCESS_NUM),
    directory: escapePercent(directory),
    user_line: user === undefined ? '' : `user=${user}`,
    numprocs: String(numprocs),
    grace: String(workerGraceSeconds(workerArgs)),
    margin: String(STOP_MARGIN_SECONDS),
    stopwaitsecs: String(stopWaitSeconds(workerArgs)),
    log: escapePercent(log),
  });
}

// supervisord splits `command=` with Python's shlex (POSIX rules), so single quotes are enough.
function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'"'"'`)}'`;
}

/**
 * `%(process_num)d` (with an optional width, as in `%(process_num)02d`) in a worker argument is
 * left for supervisord to expand: it is how each process gets its own `--metrics-port`.
 */
const PROCESS_NUM = /%\(process_num\)0?\d*d/y;

// supervisord expands %(name)s in every value before it uses it; `keep` names what it should expand.
function escapePercent(value: string, keep?: RegExp): string {
  return value.replace(/%/g, (percent, at: number) => {
    if (!keep) return '%%';
    keep.lastIndex = at;
    return keep.test(value) ? percent : '%%';
  });
}

// supervisord's ini reader ends a value at ";" or "#" after whitespace, even inside quotes.
function noInlineComment(option: string, value: string): void {
  if (/\s[;#]/.test(value))
    throw new ConfigError(`${option} cannot hold ";" or "#" after a space in a supervisord config, got "${value}".`);
}
