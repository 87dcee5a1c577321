import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Where a project's compiler writes its output: `outDir` and `rootDir` as its tsconfig.json says
 * (or as tsc defaults them). Only used to word hints ("point `bootstrap` at dist/jobs"), so a
 * guess that is wrong for an unusual setup costs a less precise sentence, never a failure.
 */
export interface TypeScriptLayout {
  /** The tsconfig.json read; undefined when there is none and getting-started.md's layout is assumed. */
  readonly tsconfig: string | undefined;
  /** Sources under here … */
  readonly rootDir: string;
  /** … are written to the same relative path under here; without outDir, beside the source. */
  readonly outDir: string | undefined;
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
  return readTypeScriptLayout(dir) ?? { tsconfig: undefined, rootDir: path.join(dir, 'src'), outDir: path.join(dir, 'dist') };
}

/** The tsconfig.json of `dir` read leniently (comments and trailing commas allowed), or undefined. */
export function readTypeScriptLayout(dir: string): TypeScriptLayout | undefined {
  const tsconfig = path.join(dir, 'tsconfig.json');
  if (!existsSync(tsconfig)) return undefined;
  let options: { rootDir?: unknown; outDir?: unknown };
  try {
    const parsed = JSON.parse(stripJsonComments(readFileSync(tsconfig, 'utf8'))) as { compilerOptions?: { rootDir?: unknown; outDir?: unknown } };
    options = parsed.compilerOptions ?? {};
  } catch {
    return undefined;
  }
  const outDir = typeof options.outDir === 'string' ? path.resolve(dir, options.outDir) : undefined;
  const rootDir = typeof options.rootDir === 'string' ? path.resolve(dir, options.rootDir) : defaultRootDir(dir);
  return { tsconfig, rootDir, outDir };
}

/** Whether `file` is `dir` or lies under it. */
export function isInside(dir: string, file: string): boolean {
  const relative = path.relative(dir, file);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** Where tsc writes the module compiled from `source` (`src/jobs/a.ts` → `dist/jobs/a.js`). */
export function compiledPathOf(source: string, layout: TypeScriptLayout | undefined): string {
  const [from, to] = EXTENSIONS.find(([ext]) => source.endsWith(ext)) ?? ['', ''];
  const js = from ? `${source.slice(0, -from.length)}${to}` : source;
  // A source outside rootDir is a tsc error: no output to name but the file beside it.
  if (!layout?.outDir || !isInside(layout.rootDir, js)) return js;
  return path.join(layout.outDir, path.relative(layout.rootDir, js));
}

/** The sources tsc would compile into `output`, most likely first (`dist/jobs/a.js` → `src/jobs/a.ts`, `dist/jobs/a.ts`). */
export function sourcePathsOf(output: string, layout: TypeScriptLayout | undefined): string[] {
  const candidates: string[] = [];
  const withSourceExtension = (file: string) => {
    const [from, to] = EXTENSIONS.find(([, ext]) => file.endsWith(ext)) ?? ['.ts', ''];
    return `${to ? file.slice(0, -to.length) : file}${from}`;
  };
  if (layout?.outDir && isInside(layout.outDir, output)) candidates.push(withSourceExtension(path.join(layout.rootDir, path.relative(layout.outDir, output))));
  candidates.push(withSourceExtension(output));
  return [...new Set(candidates)];
}

/**
 * tsc's rootDir when tsconfig.json sets none: TypeScript 6 and later use the tsconfig's directory;
 * earlier versions the common directory of the sources, which for the usual layout is `src/`.
 */
function defaultRootDir(dir: string): string {
  const typescript = path.join(dir, 'node_modules/typescript/package.json');
  try {
    const major = Number((JSON.parse(readFileSync(typescript, 'utf8')) as { version: string }).version.split('.')[0]);
    if (major >= 6) return dir;
  } catch {
    // No local TypeScript: fall through to the older default.
  }
  const src = path.join(dir, 'src');
  return existsSync(src) ? src : dir;
}

/** tsconfig.json is JSON with comments and trailing commas: drop both, leaving strings alone. */
function stripJsonComments(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '"') {
      const end = endOfString(text, i);
      out += text.slice(i, end);
      i = end - 1;
    } else if (char === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (char === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
    } else {
      out += char;
    }
  }
  return out.replace(/,(\s*[}\]])/g, '$1');
}

function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}
