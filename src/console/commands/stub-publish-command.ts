import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

import type { Command } from 'commander';
import pc from 'picocolors';

import { PACKAGE_STUBS } from '../stubs.js';

/**
 * `errand stub:publish [--force]`: copies errand's stubs into the app's own `stubs/`, which then
 * take precedence over errand's. Existing files are kept (and named) unless `--force`.
 */
export function registerStubPublishCommand(program: Command): void {
  program
    .command('stub:publish')
    .description("Copy errand's stubs into ./stubs for customisation")
    .option('-f, --force', 'overwrite stubs already in ./stubs', false)
    .action((flags: { force: boolean }) => {
      const target = path.resolve('stubs');
      const names = readdirSync(PACKAGE_STUBS)
        .filter((name) => name.endsWith('.stub'))
        .sort();
      mkdirSync(target, { recursive: true });
      let copied = 0;
      for (const name of names) {
        const file = path.join(target, name);
        const shown = path.join('stubs', name);
        if (existsSync(file) && !flags.force) {
          console.log(`  ${shown} ${pc.yellow('SKIPPED')} (exists; --force overwrites it)`);
          continue;
        }
        copyFileSync(path.join(PACKAGE_STUBS, name), file);
        copied += 1;
        console.log(`  ${shown} ${pc.green('DONE')}`);
      }
      const skipped = names.length - copied;
      console.log(
        `\n  ${pc.bgBlue(pc.white(' INFO '))} ${copied} stub(s) published to [stubs]${skipped ? `, ${skipped} kept` : ''}; the app's stubs take precedence over errand's.\n`,
      );
    });
}
