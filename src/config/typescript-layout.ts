import { existsSync } from 'node:fs';
import path from 'node:path';

import { readCompilerPaths } from './read-tsconfig.js';

/**
 * Where a project's compiler writes its output: `outDir` and `rootDir` as its tsconfig.json says
 * (with `extends` followed), or as tsc defaults them. Only used to word hints ("point `bootstrap`
 * at dist/jobs"), so a layout errand cannot read costs a less precise sentence, never a failure.
 */
export interface TypeScriptLayout {
  /** The tsconfig.json read; undefined when there is none and getting-started.md's layout is assumed. */
  readonly tsconfig: string | undefined;
  /** Sources under here … */
  readonly rootDir: string;
  /** … are written to the same relative path under here; without outDir, beside the source. */
  readonly outDir: string | undefined;
  /**
   * Why the tsconfig.json could not be read through (a base config errand could not find …): the
   * output directory is then unknown, and no hint names a compiled path.
   */
  readonly unknown?: string;
}

const EXTENSIONS: Array<[source: string, output: string]> = [
  ['.ts', '.js'],
  ['.mts', '.mjs'],
  ['.cts', '.cjs'],
];

/** `.ts`, `.mts`, `.cts` (not `.d.ts`): a file Node cannot import before it is compiled. */
export function isTypeScriptSource(file: string): boolean {
  return /\.(m|c)?ts$/.test(file) && !/\.d\.(m|c)?ts$/.test(file);
}

/**
 * The layout of the project in `dir`: its tsconfig.json's, else the one getting-started.md sets
 * up (`src/` compiled to `dist/`).
 */
export function typeScriptLayout(dir: string): TypeScriptLayout {
  return (
    readTypeScriptLayout(dir) ?? { tsconfig: undefined, rootDir: path.join(dir, 'src'), outDir: path.join(dir, 'dist') }
  );
}

/** The tsconfig.json of `dir` read through its `extends` chain, or undefined when there is none. */
export function readTypeScriptLayout(dir: string): TypeScriptLayout | undefined {
  const tsconfig = path.join(dir, 'tsconfig.json');
  if (!existsSync(tsconfig)) return undefined;
  const read = readCompilerPaths(tsconfig);
  const rootDir = read.rootDir ?? defaultRootDir(dir, read.typescriptVersion);
  return { tsconfig, rootDir, outDir: read.outDir, ...(read.unknown ? { unknown: read.unknown } : {}) };
}

/** Whether `file` is `dir` or lies under it. */
export function isInside(dir: string, file: string): boolean {
  const relative = path.relative(dir, file);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * Where tsc writes the module compiled from `source` (`src/jobs/a.ts` → `dist/jobs/a.js`);
 * undefined when the layout's output directory is unknown.
 */
export function compiledPathOf(source: string, layout: TypeScriptLayout | undefined): string | undefined {
  const [from, to] = EXTENSIONS.find(([ext]) => source.endsWith(ext)) ?? ['', ''];
  const js = from ? `${source.slice(0, -from.length)}${to}` : source;
  // A source outside rootDir is a tsc error: no output to name but the file beside it.
  if (!layout?.outDir || !isInside(layout.rootDir, js)) return layout?.unknown ? undefined : js;
  return path.join(layout.outDir, path.relative(layout.rootDir, js));
}

/**
 * The `bootstrap` (or `listeners`) entry to suggest for the modules compiled from the sources in
 * `sourceDir`: their output directory; a glob of the `.js` files when they are written beside the
 * sources (a directory holding `.ts` sources is never suggested: before a build it holds nothing
 * Node can import, and the worker refuses it); undefined when the output directory is unknown.
 */
export function compiledEntryFor(sourceDir: string, layout: TypeScriptLayout | undefined): string | undefined {
  const compiled = compiledPathOf(path.join(sourceDir, 'index.ts'), layout);
  if (!compiled) return undefined;
  const dir = path.dirname(compiled);
  return dir === sourceDir ? path.join(dir, '**/*.js') : dir;
}

/** The sources tsc would compile into `output`, most likely first (`dist/jobs/a.js` → `src/jobs/a.ts`, `dist/jobs/a.ts`). */
export function sourcePathsOf(output: string, layout: TypeScriptLayout | undefined): string[] {
  const candidates: string[] = [];
  const withSourceExtension = (file: string) => {
    const [from, to] = EXTENSIONS.find(([, ext]) => file.endsWith(ext)) ?? ['.ts', ''];
    return `${to ? file.slice(0, -to.length) : file}${from}`;
  };
  if (layout?.outDir && isInside(layout.outDir, output))
    candidates.push(withSourceExtension(path.join(layout.rootDir, path.relative(layout.outDir, output))));
  candidates.push(withSourceExtension(output));
  return [...new Set(candidates)];
}

/**
 * tsc's rootDir when tsconfig.json sets none: TypeScript 6 and later use the tsconfig's directory;
 * earlier versions the common directory of the sources, which for the usual layout is `src/`.
 */
function defaultRootDir(dir: string, typescriptVersion: string | undefined): string {
  if (Number(typescriptVersion?.split('.')[0]) >= 6) return dir;
  const src = path.join(dir, 'src');
  return existsSync(src) ? src : dir;
}
