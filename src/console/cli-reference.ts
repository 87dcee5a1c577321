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
    '<!-- Generated from the commands\' definitions by `npm run docs:cli`; a test fails when it is stale. Do not edit by hand. -->',
    '',
    'Every command takes the global option `--config <path>` (a config file instead of',
    '`errand.config.{js,mjs,cjs}` in the working directory). See [cli.md](cli.md) for the generators',
    'and stubs, and each topic page for what the commands do.',
    '',
  ];
  const byName = new Map(program.commands.map((command) => [command.name(), command]));
  for (const { group, commands } of groupedCommands(program)) {
    out.push(`## ${group ? `${group}:` : 'General'}`, '');
    for (const { name } of commands) {
      const command = byName.get(name);
      if (!command) continue;
      out.push(`### \`errand ${name}\``, '', escape(command.description()), '', '```', `errand ${name} ${command.usage()}`.trimEnd(), '```', '');
      if (command.registeredArguments.length > 0) {
        out.push('| argument | meaning |', '| --- | --- |');
        for (const argument of command.registeredArguments) {
          const label = argument.required ? `<${argument.name()}>` : `[${argument.name()}]`;
          out.push(`| \`${label}${argument.variadic ? '…' : ''}\` | ${escape(argument.description)} |`);
        }
        out.push('');
      }
      const options = command.options.filter((option) => !option.hidden);
      if (options.length > 0) {
        out.push('| option | meaning | default |', '| --- | --- | --- |');
        for (const option of options) {
          const fallback = option.defaultValue === undefined || option.defaultValue === false ? '' : `\`${String(option.defaultValue)}\``;
          out.push(`| \`${option.flags}\` | ${escape(option.description)} | ${fallback} |`);
        }
        out.push('');
      }
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|');
}
