#!/usr/bin/env node
import 'reflect-metadata';

import { Command } from 'commander';
import pc from 'picocolors';

import { ErrandError } from '../errors/errand-error.js';
import { registerBatchCommands } from './commands/batch-commands.js';
import { registerClearCommand } from './commands/clear-command.js';
import { registerFailedCommands } from './commands/failed-commands.js';
import { registerDeployCommands } from './commands/deploy-commands.js';
import { registerControlCommands } from './commands/control-commands.js';
import { registerEventListCommand } from './commands/event-list-command.js';
import { registerKeyCommand } from './commands/key-command.js';
import { groupHelp, registerListCommand } from './commands/list-command.js';
import { registerMakeCommands } from './commands/make-commands.js';
import { registerMakeJobMiddlewareCommand } from './commands/make-job-middleware-command.js';
import { registerMonitorCommand } from './commands/monitor-command.js';
import { registerMigrateCommand } from './commands/migrate-command.js';
import { registerStubPublishCommand } from './commands/stub-publish-command.js';
import { registerTableCommands } from './commands/table-commands.js';
import { registerWorkCommand } from './commands/work-command.js';

const program = new Command('errand')
  .description("Laravel's queue system for TypeScript on Node")
  .option('--config <path>', 'config file (default: errand.config.{js,mjs,cjs} in the working directory)')
  .showSuggestionAfterError()
  .configureOutput({ outputError: (text, write) => write(pc.red(text)) });

registerMigrateCommand(program);

registerKeyCommand(program);
registerEventListCommand(program);
registerWorkCommand(program);
registerControlCommands(program);
registerBatchCommands(program);
registerFailedCommands(program);
registerClearCommand(program);
registerMonitorCommand(program);
registerTableCommands(program);
registerMakeJobMiddlewareCommand(program);
registerMakeCommands(program);
registerStubPublishCommand(program);
registerListCommand(program);
registerDeployCommands(program);

// After every command is registered: `--help` and `errand help` list them grouped by prefix.
groupHelp(program);

// Exit explicitly once the command is done: modules the worker's bootstrap loaded (pools,
// HTTP agents) may hold handles that would otherwise keep the process alive.
program.parseAsync().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    const message = error instanceof ErrandError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`\n ${pc.bgRed(pc.white(' ERROR '))} ${message}\n\n`);
    process.exit(1);
  },
);
