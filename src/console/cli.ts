#!/usr/bin/env node
import 'reflect-metadata';

import pc from 'picocolors';

import { ErrandError } from '../errors/errand-error.js';
import { stackWithCauses } from '../errors/error-text.js';
import { isVerbose } from '../runtime/verbosity.js';
import { buildProgram } from './program.js';

const program = buildProgram();

// `errand help <typo>`: commander would print the whole help; parse the typo as a command
// instead, so it is named as unknown with the closest command suggested.
const [, , first, second] = process.argv;
if (
  first === 'help' &&
  second !== undefined &&
  !second.startsWith('-') &&
  !program.commands.some((c) => c.name() === second || c.aliases().includes(second))
) {
  process.argv.splice(2, 1);
}

// Bare `errand` (global options at most) lists the commands, on stdout and with success, like
// `errand list`: commander would print its help to stderr and exit 1. Parsing the options twice
// is harmless: --config and -v/--verbose are set to the same values again (verbosity is applied
// in the preAction hook, once), and -V/--version prints the version and exits on the first parse.
const { operands, unknown } = program.parseOptions(process.argv.slice(2));
if (operands.length === 0 && unknown.length === 0) process.argv.push('list');

// Exit explicitly once the command is done: modules the worker's bootstrap loaded (pools,
// HTTP agents) may hold handles that would otherwise keep the process alive.
program.parseAsync().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    // errand's own errors say what is wrong and what to do; their stacks are for `-v`. Others may be bugs: always the stack.
    const message = isVerbose() || !(error instanceof ErrandError) ? stackWithCauses(error) : error.message;
    process.stderr.write(`\n ${pc.bgRed(pc.white(' ERROR '))} ${message}\n\n`);
    process.exit(1);
  },
);
