import { readStub } from '../console/stubs.js';
import { renderConfigStub } from './render-config-stub.js';
import { hasWorkerArg, STOP_MARGIN_SECONDS, stopWaitSeconds, workerGraceSeconds } from './worker-args.js';
import { plainName, resolveWorkerCommand, type WorkerCommandOptions } from './worker-command.js';

/** Options for {@link renderSystemdUnit}. */
export interface SystemdUnitOptions extends WorkerCommandOptions {
  /** The unit's name without `@.service`. Default `errand-worker`. */
  unit?: string;
}

/** The unit name `errand queue:systemd` uses when given none. */
export const DEFAULT_SYSTEMD_UNIT = 'errand-worker';

/** The worker name each instance gets unless the arguments name one: unit prefix and instance. */
export const SYSTEMD_WORKER_NAME = '--name=%p-%i';

/**
 * A systemd template unit (`<unit>@.service`): each enabled instance, `<unit>@1`, `<unit>@2`…,
 * runs one errand worker. The template defaults to the `systemd.service.stub` an app may override
 * in its own `stubs/` directory.
 */
export function renderSystemdUnit(options: SystemdUnitOptions = {}, template?: string): string {
  const unit = plainName('--unit', options.unit ?? DEFAULT_SYSTEMD_UNIT);
  const workerArgs = options.workerArgs ?? [];
  const { directory, user, argv } = resolveWorkerCommand(options);
  const words = argv.map((arg) => escapeVariables(escapeSpecifiers(systemdQuote(arg), true)));
  // Added after escaping: %p and %i are specifiers systemd must expand, one name per instance.
  if (!hasWorkerArg(workerArgs, '--name')) words.push(SYSTEMD_WORKER_NAME);
  return renderConfigStub(template ?? readStub('systemd.service.stub'), {
    unit,
    command: words.join(' '),
    directory: escapeSpecifiers(directory),
    user_line: user === undefined ? '' : `User=${user}`,
    grace: String(workerGraceSeconds(workerArgs)),
    margin: String(STOP_MARGIN_SECONDS),
    stopwaitsecs: String(stopWaitSeconds(workerArgs)),
  });
}

// ExecStart splits words itself; double quotes with C-style escapes keep a word whole.
function systemdQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `"${arg.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

// systemd expands %x specifiers in every setting; doubling the % makes it literal. In a worker
// argument `%i` (the instance name) is left for systemd, so instances can be named by their
// metrics ports: errand-worker@9400 with `--metrics-port=%i`.
function escapeSpecifiers(value: string, keepInstance = false): string {
  return value.replace(/%(i?)/g, (match, instance: string) => (keepInstance && instance ? match : `%%${instance}`));
}

// ExecStart also expands $VAR and ${VAR}; $$ is a literal dollar sign.
function escapeVariables(value: string): string {
  return value.replace(/\$/g, '$$$$');
}
