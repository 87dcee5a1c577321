import type { Command } from 'commander';
import pc from 'picocolors';

/** A command's group: the part of its name before the first `:`, or '' for plain names (`migrate`). */
export function commandGroup(name: string): string {
  const at = name.indexOf(':');
  return at > 0 ? name.slice(0, at) : '';
}

interface ListedCommand {
  name: string;
  aliases: string[];
  description: string;
}

/** The program's visible commands (the implicit `help` included), grouped by prefix, each group sorted by name. */
export function groupedCommands(program: Command): Array<{ group: string; commands: ListedCommand[] }> {
  const groups = new Map<string, ListedCommand[]>();
  for (const command of program.createHelp().visibleCommands(program)) {
    const group = commandGroup(command.name());
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group)!.push({ name: command.name(), aliases: command.aliases(), description: command.description() });
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)))
    .map(([group, commands]) => ({ group, commands: commands.sort((a, b) => a.name.localeCompare(b.name)) }));
}

/**
 * `errand list [--json]`: the commands grouped by prefix (queue:, make:, event:, …) with their
 * descriptions. Call `groupHelp(program)` after every command is registered so that `--help` and
 * `errand help` group them the same way.
 */
export function registerListCommand(program: Command): void {
  program
    .command('list')
    .description('List the commands, grouped by prefix')
    .option('--json', 'print the groups as JSON', false)
    .action((flags: { json: boolean }) => {
      const groups = groupedCommands(program);
      if (flags.json) {
        console.log(JSON.stringify(groups, null, 2));
        return;
      }
      const label = (c: ListedCommand) => (c.aliases.length ? `${c.name} (${c.aliases.join(', ')})` : c.name);
      const width = Math.max(...groups.flatMap((g) => g.commands.map((c) => label(c).length))) + 2;
      const lines = [
        `${program.description()}`,
        '',
        pc.yellow('Usage:'),
        `  ${program.name()} [--config <path>] <command> [options] [arguments]`,
        '',
      ];
      for (const { group, commands } of groups) {
        lines.push(pc.yellow(group === '' ? 'Available commands:' : ` ${group}`));
        for (const c of commands) lines.push(`  ${pc.green(label(c).padEnd(width))}${c.description}`);
      }
      lines.push('', `Run ${program.name()} help <command> (or <command> --help) for a command's options.`);
      console.log(lines.join('\n'));
    });
}

/** Sets each command's help group from its prefix, so `errand --help` lists them grouped too. */
export function groupHelp(program: Command): void {
  for (const command of program.commands) {
    const group = commandGroup(command.name());
    command.helpGroup(group === '' ? 'Commands:' : `${group}:`);
  }
}
