import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { Command } from 'commander';
import pc from 'picocolors';

import {
  DEFAULT_NUMPROCS,
  DEFAULT_SUPERVISOR_PROGRAM,
  renderSupervisorConfig,
} from '../../deploy/supervisor-config.js';
import { DEFAULT_SYSTEMD_UNIT, renderSystemdUnit } from '../../deploy/systemd-unit.js';
import type { WorkerCommandOptions } from '../../deploy/worker-command.js';
import { ConfigError } from '../../errors/config-error.js';

interface SharedFlags {
  user?: string;
  directory?: string;
  node?: string;
  output?: string;
  force?: boolean;
}

/**
 * `errand queue:supervisor` and `errand queue:systemd`: print or write the config that keeps
 * workers running in production. Neither boots errand: they must work on a machine whose database
 * is not reachable yet, and with a config file that is only named.
 */
export function registerDeployCommands(program: Command): void {
  const supervisor = program
    .command('queue:supervisor')
    .description('Print (or write with --output) a supervisord config that keeps errand workers running')
    .usage('[options] [-- queue:work arguments...]')
    .argument('[worker-args...]', 'arguments for queue:work, after --')
    .option('--program <name>', 'the supervisord program name', DEFAULT_SUPERVISOR_PROGRAM)
    .option('--numprocs <n>', 'how many worker processes to keep running', String(DEFAULT_NUMPROCS))
    .option('--log <file>', "the workers' log file (default: <directory>/<program>.log)");
  addSharedOptions(supervisor).action(
    (
      workerArgs: string[],
      flags: SharedFlags & { program: string; numprocs: string; log?: string },
      command: Command,
    ) => {
      const options = workerCommand(workerArgs, flags, command);
      const text = renderSupervisorConfig({
        ...options,
        program: flags.program,
        numprocs: count('--numprocs', flags.numprocs),
        log: flags.log === undefined ? undefined : path.resolve(flags.log),
      });
      const file = emit(text, flags, `${flags.program}.conf`);
      if (file) {
        console.log(`  ${pc.green('Supervisor config written')} ${file}`);
        console.log(
          `  Load it: supervisorctl reread && supervisorctl update && supervisorctl start '${flags.program}:*'`,
        );
      }
    },
  );

  const systemd = program
    .command('queue:systemd')
    .description('Print (or write with --output) a systemd template unit; each instance runs one errand worker')
    .usage('[options] [-- queue:work arguments...]')
    .argument('[worker-args...]', 'arguments for queue:work, after --')
    .option('--unit <name>', 'the unit name, without @.service', DEFAULT_SYSTEMD_UNIT);
  addSharedOptions(systemd).action((workerArgs: string[], flags: SharedFlags & { unit: string }, command: Command) => {
    const text = renderSystemdUnit({ ...workerCommand(workerArgs, flags, command), unit: flags.unit });
    const name = `${flags.unit}@.service`;
    const file = emit(text, flags, name);
    if (file) {
      console.log(`  ${pc.green('Systemd unit written')} ${file}`);
      if (path.basename(file) !== name)
        console.log(`  ${pc.yellow('Rename it')} to ${name}: systemd reads a template unit by that name.`);
      console.log(`  Start N workers: systemctl daemon-reload && systemctl enable --now ${flags.unit}@{1..N}`);
    }
  });
}

function addSharedOptions(command: Command): Command {
  return command
    .option('--user <name>', 'the Unix user the workers run as (default: the supervisor’s)')
    .option('--directory <dir>', "the app's directory, the workers' working directory (default: the current one)")
    .option('--node <path>', 'the node binary (default: the one running this command)')
    .option('--output <file>', 'write the config to this file (or into this directory) instead of printing it')
    .option('--force', 'overwrite the --output file if it exists', false);
}

function workerCommand(workerArgs: string[], flags: SharedFlags, command: Command): WorkerCommandOptions {
  const { config } = command.optsWithGlobals<{ config?: string }>();
  return {
    directory: path.resolve(flags.directory ?? process.cwd()),
    user: flags.user,
    // A bare name ("node") is left for the supervisor to find on its PATH.
    node: flags.node === undefined ? undefined : flags.node.includes('/') ? path.resolve(flags.node) : flags.node,
    configFile: config === undefined ? undefined : path.resolve(config),
    workerArgs,
  };
}

function count(option: string, value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1)
    throw new ConfigError(`${option} must be a whole number ≥ 1, got "${value}".`);
  return Number(value);
}

/** Prints `text`, or writes it to `--output` and returns the file written. */
function emit(text: string, flags: SharedFlags, defaultName: string): string | undefined {
  if (flags.output === undefined) {
    process.stdout.write(text);
    return undefined;
  }
  let file = path.resolve(flags.output);
  if (existsSync(file) && statSync(file).isDirectory()) file = path.join(file, defaultName);
  if (!flags.force && existsSync(file)) throw new ConfigError(`${file} already exists; pass --force to overwrite it.`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}
