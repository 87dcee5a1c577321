let verbose = false;

/**
 * Whether errand prints stack traces and its drivers' own diagnostics: `-v`/`--verbose` on the
 * command line, or `DEBUG` set in the environment (the variable knex's and the drivers' debug
 * output already answer to). Off, errors are one line naming what is wrong and what to do.
 */
export function isVerbose(): boolean {
  return verbose || Boolean(process.env.DEBUG);
}

/** Turns verbose output on or off for this process (the CLI does, from `-v`). */
export function setVerbose(on: boolean): void {
  verbose = on;
}
