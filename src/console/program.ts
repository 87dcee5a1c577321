import { Command } from 'commander';
import pc from 'picocolors';

import { setVerbose } from '../runtime/verbosity.js';
import { registerAboutCommand } from './commands/about-command.js';
import { registerBatchCommands } from './commands/batch-commands.js';
import { registerClearCommand } from './commands/clear-command.js';
import { registerControlCommands } from './commands/control-commands.js';
import { registerDashboardCommand } from './commands/dashboard-command.js';
import { registerDeployCommands } from './commands/deploy-commands.js';
import { registerEventListCommand } from './commands/event-list-command.js';
import { registerFailedCommands } from './commands/failed-commands.js';
import { registerKeyCommand } from './commands/key-command.js';
import { groupHelp, registerListCommand } from './commands/list-command.js';
import { registerMakeCommands } from './commands/make-commands.js';
import { registerMetricsCommand } from './commands/metrics-command.js';
import { registerMigrateCommand } from './commands/migrate-command.js';
import { registerMonitorCommand } from './commands/monitor-command.js';
import { registerStubPublishCommand } from './commands/stub-publish-command.js';
import { registerTableCommands } from './commands/table-commands.js';
import { registerWorkCommand } from './commands/work-command.js';
import { packageVersion } from './package-version.js';
import { suggestCommands, suggestionText } from './suggest-command.js';

/** The `errand` program with every command registered (the CLI parses it; the CLI reference is rendered from it). */
export function buildProgram(): Command {
  const program = new Command('errand')
    .description("Laravel's queue system for TypeScript on Node")
    .version(packageVersion(), '-V, --version', 'print the version of errand')
    .option('--config <path>', 'config file (default: errand.config.{js,mjs,cjs} in the working directory)')
    .option(
      '-v, --verbose',
      'print stack traces with errors, and queue:work the stack of each failed job (DEBUG=1 does too)',
    )
    .showSuggestionAfterError()
    .configureOutput({ outputError: (text, write) => write(pc.red(text)) })
    .hook('preAction', (_program, command) =>
      setVerbose(command.optsWithGlobals<{ verbose?: boolean }>().verbose === true),
    );

  // An unknown command: commander's own suggestion compares whole names only, so `work` would find
  // nothing; this one also compares the part after the colon (`work` → `queue:work`).
  program.on('command:*', ([typed]: string[]) => {
    const names = program
      .createHelp()
      .visibleCommands(program)
      .flatMap((command) => [command.name(), ...command.aliases()]);
    program.error(`error: unknown command '${typed}'${suggestionText(suggestCommands(typed ?? '', names))}`, {
      code: 'commander.unknownCommand',
    });
  });

  registerAboutCommand(program);
  registerMigrateCommand(program);

  registerKeyCommand(program);
  registerEventListCommand(program);
  registerWorkCommand(program);
  registerControlCommands(program);
  registerBatchCommands(program);
  registerFailedCommands(program);
  registerClearCommand(program);
  registerMonitorCommand(program);
  registerMetricsCommand(program);
  registerDashboardCommand(program);
  registerTableCommands(program);
  registerMakeCommands(program);
  registerStubPublishCommand(program);
  registerListCommand(program);
  registerDeployCommands(program);

  // After every command is registered: `--help` and `errand help` list them grouped by prefix.
  groupHelp(program);
  return program;
}
