import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import picomatch from 'picomatch';
import { globSync, isDynamicPattern } from 'tinyglobby';

import { ConfigError } from '../errors/config-error.js';
import {
  compiledEntryFor,
  compiledPathOf,
  isInside,
  isTypeScriptSource,
  sourcePathsOf,
  type TypeScriptLayout,
  typeScriptLayout,
} from './typescript-layout.js';

/** The config options that name modules to import: a file, a directory or a glob each. */
export type ModuleOption = 'bootstrap' | 'listeners';

/** Where the entries come from, for hints: the config's directory and file. */
export interface ModuleContext {
  readonly baseDir: string;
  /** The config file, when there is one. */
  readonly source?: string;
}

// What one entry is called in messages: "the listener path …", "the bootstrap module …".
const NOUN: Record<ModuleOption, string> = { bootstrap: 'bootstrap', listeners: 'listener' };
const MODULE = /\.(js|mjs|cjs)$/;
// Neither a directory nor a glob takes in installed packages, compiled type declarations, or
// compiled tests (`dist/jobs/x.test.js` imports the test runner, which a worker does not have).
// Names starting with a dot are skipped too: a glob never matches them (picomatch's rule).
const IGNORED = ['**/node_modules/**', '**/*.d.ts', '**/*.d.mts', '**/*.d.cts', '**/*.test.*', '**/*.spec.*'];
const SKIPPED_FILE = /\.(test|spec)\.|^\./;

/** How an entry is read: an existing path as it is, else a glob when it has glob characters. */
export function isModulePattern(entry: string): boolean {
  return !existsSync(entry) && isDynamicPattern(entry);
}

/**
 * The module files (.js/.mjs/.cjs) an entry of `bootstrap` or `listeners` names, sorted so the
 * import order is stable: the file itself, every module under a directory, or every module a
 * glob matches. An entry that names nothing importable is a ConfigError saying what to do (build
 * first, compile the TypeScript, fix the path).
 */
export function modulesAt(entry: string, option: ModuleOption, context: ModuleContext): string[] {
  const at = `config \`${option}\`${context.source ? ` in ${context.source}` : ''}`;
  const layout = () => typeScriptLayout(context.baseDir);
  if (isModulePattern(entry)) {
    const matched = globbed(entry);
    const modules = matched.filter((file) => MODULE.test(file));
    if (modules.length > 0) return modules;
    const sources = matched.filter(isTypeScriptSource);
    if (sources.length > 0) {
      throw new ConfigError(
        `The ${NOUN[option]} pattern ${entry} (${at}) matches TypeScript sources only (${shortList(sources)}): ${compileHint(isTypeScriptSource(entry) ? entry : sources[0]!, option, context, layout(), 'them')}`,
      );
    }
    throw new ConfigError(
      `The ${NOUN[option]} pattern ${entry} (${at}) matches no .js, .mjs or .cjs file; build the app first, or fix the pattern.`,
    );
  }
  if (!existsSync(entry)) {
    const source = sourcePathsOf(entry, layout()).find(existsSync);
    const hint = source
      ? `its source ${source} exists: compile it (npx tsc) first.`
      : 'build the app first, or fix the path.';
    throw new ConfigError(`The ${NOUN[option]} path ${entry} (${at}) does not exist; ${hint}`);
  }
  if (statSync(entry).isFile()) {
    if (isTypeScriptSource(entry))
      throw new ConfigError(
        `The ${NOUN[option]} module ${entry} (${at}) is TypeScript, which Node cannot import: ${compileHint(entry, option, context, layout())}`,
      );
    return [entry];
  }
  const modules = walk(entry, (file) => MODULE.test(file));
  if (modules.length === 0) {
    const sources = walk(entry, isTypeScriptSource);
    if (sources.length > 0) {
      const output = compiledEntryFor(entry, layout());
      const where =
        output === undefined
          ? ` output${outDirUnknown(layout())}`
          : `${isModulePattern(output) ? ' .js output' : ' output directory'}, ${configPath(output, context)}`;
      throw new ConfigError(
        `The ${NOUN[option]} directory ${entry} (${at}) holds TypeScript sources only: compile them (npx tsc) and point \`${option}\` at their${where}.`,
      );
    }
  }
  return modules;
}

/** Whether `entry` (a file, a directory or a glob) takes in `file` once it exists. */
export function entryCovers(entry: string, file: string): boolean {
  return isModulePattern(entry) ? picomatch.isMatch(file, entry, { dot: false }) : isInside(entry, file);
}

/**
 * Imports every module the entries name, in order (entries in the order given, each one's files
 * sorted), so their decorated classes register themselves. Resolves to the files imported, each
 * once: entries that overlap (a directory and a file in it) take a file in at its first place.
 */
export async function importModules(
  entries: readonly string[],
  option: ModuleOption,
  context: ModuleContext,
): Promise<string[]> {
  const files = onceEach(entries.flatMap((entry) => modulesAt(entry, option, context)));
  for (const file of files) {
    try {
      await import(pathToFileURL(file).href);
    } catch (error) {
      throw new ConfigError(`The ${NOUN[option]} module ${file} could not be loaded: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return files;
}

/** What to do about a TypeScript file named where a compiled module belongs: compile, and name the output. */
export function compileHint(
  source: string,
  option: ModuleOption,
  context: ModuleContext,
  layout: TypeScriptLayout | undefined,
  them: 'it' | 'them' = 'it',
): string {
  const compiled = compiledPathOf(source, layout);
  const its = `${them === 'it' ? 'its' : 'their'} .js output`;
  if (compiled === undefined)
    return `compile ${them} (npx tsc) and point \`${option}\` at ${its}${outDirUnknown(layout)}.`;
  const per = layout?.tsconfig && layout.outDir ? ` (outDir of ${layout.tsconfig})` : '';
  return `compile ${them} (npx tsc) and point \`${option}\` at ${its}, '${configPath(compiled, context)}'${per}.`;
}

/** Why no output path is named, when the layout could not be read: " (its outDir is unknown: …)". */
export function outDirUnknown(layout: TypeScriptLayout | undefined): string {
  return layout?.unknown ? ` (its outDir is unknown: ${layout.unknown.replace(/\.$/, '')})` : '';
}

/** A path as the config file would name it: relative to its directory, starting with `./`. */
export function configPath(file: string, context: ModuleContext): string {
  const relative = path.relative(context.baseDir, file).split(path.sep).join('/');
  if (path.isAbsolute(relative)) return file;
  return relative.startsWith('../') ? relative : `./${relative}`;
}

/**
 * Symlinked directories are followed in both modes; a file reached twice (through a link, or a
 * link cycle) is imported once, under its first path in order.
 */
function globbed(pattern: string): string[] {
  // Glob from the pattern's fixed leading directories, so an absolute pattern crawls only there.
  const { base, glob } = picomatch.scan(pattern);
  if (!existsSync(base || '.')) return [];
  return inOrder(
    globSync(glob, { cwd: base || '.', absolute: true, ignore: IGNORED, onlyFiles: true, followSymbolicLinks: true }),
  );
}

function walk(dir: string, keep: (file: string) => boolean): string[] {
  const files: string[] = [];
  const visited = new Set<string>();
  const visit = (at: string) => {
    // A link back up the tree would loop for ever: each real directory is read once.
    const real = realpathSync(at);
    if (visited.has(real)) return;
    visited.add(real);
    for (const item of readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, item.name);
      const isDirectory = item.isDirectory() || (item.isSymbolicLink() && isDirectoryBehind(full));
      if (isDirectory) {
        if (item.name !== 'node_modules' && !item.name.startsWith('.')) visit(full);
      } else if (keep(item.name) && !SKIPPED_FILE.test(item.name)) files.push(full);
    }
  };
  visit(dir);
  return inOrder(files);
}

function isDirectoryBehind(link: string): boolean {
  try {
    return statSync(link).isDirectory();
  } catch {
    // A dangling link: nothing to read.
    return false;
  }
}

/** Sorted by code point (UTF-8 bytes), the same in both modes, each real file once. */
function inOrder(files: string[]): string[] {
  return onceEach(files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
}

/** Each real file once, at its first place (a file reached again through a link, or another entry). */
function onceEach(files: string[]): string[] {
  const seen = new Set<string>();
  return files.filter((file) => {
    const real = realpathSync(file);
    if (seen.has(real)) return false;
    seen.add(real);
    return true;
  });
}

function shortList(files: string[]): string {
  return files.length <= 2 ? files.join(', ') : `${files.slice(0, 2).join(', ')} and ${files.length - 2} more`;
}
