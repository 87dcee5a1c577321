import type { Command } from 'commander';

import { groupedCommands } from './commands/list-command.js';

/**
 * The CLI reference (docs/cli-reference.md), rendered from the commands' own definitions so it
 * cannot drift from them: `npm run docs:cli` writes it and a test fails when it is stale.
 */
export function renderCliReference(program: Command): string {
  const out: string[] = [
    '# CLI reference',
    '',
    "<!-- Generated from the commands' definitions by `npm run docs:cli`; a test fails when it is stale. Do not edit by hand. -->",
    '',
    `Every command takes the global options ${globalOptions(program)}.`,
    'See [cli.md](cli.md) for the generators and stubs, and each topic page for what the commands do.',
    '',
    ...optionTable(program),
  ];
  const byName = new Map(program.commands.map((command) => [command.name(), command]));
  for (const { group, commands } of groupedCommands(program)) {
    out.push(`## ${group ? `${group}:` : 'General'}`, '');
    for (const { name } of commands) {
      const command = byName.get(name);
      if (!command) continue;
      out.push(
        `### \`errand ${name}\``,
        '',
        escape(command.description()),
        '',
        '```',
        `errand ${name} ${command.usage()}`.trimEnd(),
        '```',
        '',
      );
      if (command.registeredArguments.length > 0) {
        out.push('| argument | meaning |', '| --- | --- |');
        for (const argument of command.registeredArguments) {
          const label = argument.required ? `<${argument.name()}>` : `[${argument.name()}]`;
          out.push(`| \`${label}${argument.variadic ? '…' : ''}\` | ${escape(argument.description)} |`);
        }
        out.push('');
      }
      out.push(...optionTable(command));
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** The program's options as a sentence: `-V`/`--version`, `--config <path>` and `-v`/`--verbose`. */
function globalOptions(program: Command): string {
  const names = program.options
    .filter((option) => !option.hidden)
    .map((option) =>
      option.flags
        .split(/,\s*/)
        .map((flag) => `\`${flag}\``)
        .join('/'),
    );
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}` : (names[0] ?? '');
}

/** A command's visible options as a table, followed by a blank line; nothing when it has none. */
function optionTable(command: Command): string[] {
  const options = command.options.filter((option) => !option.hidden);
  if (options.length === 0) return [];
  const rows = options.map((option) => {
    const fallback =
      option.defaultValue === undefined || option.defaultValue === false ? '' : `\`${String(option.defaultValue)}\``;
    return `| \`${option.flags}\` | ${escape(option.description)} | ${fallback} |`;
  });
  return ['| option | meaning | default |', '| --- | --- | --- |', ...rows, ''];
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|');
}
