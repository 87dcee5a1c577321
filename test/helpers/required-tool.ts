import { spawnSync } from 'node:child_process';
import { describe, it } from 'vitest';

/** Undefined when each of `commands` answers `--version` here, else why not. */
export function toolMissingReason(commands: readonly string[]): string | undefined {
  for (const command of commands) {
    const probe = spawnSync(command, ['--version'], { encoding: 'utf8' });
    if (probe.error) return `${command} is not on PATH (${probe.error.message})`;
    if (probe.status !== 0) return `${command} --version exited with ${probe.status}: ${probe.stderr.trim()}`;
  }
  return undefined;
}

const warned = new Set<string>();

/**
 * A describe block that needs a Debian tool. Without it the block fails under CI=true (.ci/run
 * installs `debianPackage`); elsewhere it is skipped with one loud line saying how to get it.
 */
export function describeWithTool(
  title: string,
  tool: { readonly name: string; readonly reason: string | undefined; readonly debianPackage: string },
  body: () => void,
): void {
  const { name, reason, debianPackage } = tool;
  if (!reason) {
    describe(title, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(title, () => {
      it(`finds ${name}`, () => {
        throw new Error(`CI=true and ${reason}. .ci/run installs Debian's ${debianPackage} package.`);
      });
    });
    return;
  }
  if (!warned.has(name)) {
    console.warn(
      `\n!!! ${reason}; the ${name} suites are SKIPPED. Install it (apt-get install ${debianPackage}); CI=true makes this a failure.\n`,
    );
    warned.add(name);
  }
  // Skipped on purpose, with the reason printed above: the tool is not on this machine.
  describe.skip(`${title} (${name} missing: reason printed above)`, body);
}
