import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** What errand needs from a tsconfig.json, with `extends` followed: where tsc reads and writes. */
export interface CompilerPaths {
  /** Absolute; undefined when no config in the chain sets it. */
  readonly outDir?: string;
  /** Absolute; undefined when no config in the chain sets it. */
  readonly rootDir?: string;
  /** The TypeScript version installed in the project, when there is one. */
  readonly typescriptVersion?: string;
  /**
   * Why the options could not all be read (a base config that cannot be found or parsed, an
   * `extends` cycle): `outDir` is then unknown, not absent.
   */
  readonly unknown?: string;
}

/** The part of TypeScript's JS API (5.x, 6.x) used here; 7.x ships no such API in its main export. */
interface TypeScriptApi {
  version?: string;
  sys?: unknown;
  readConfigFile?: (
    file: string,
    read: (file: string) => string | undefined,
  ) => { config?: unknown; error?: { messageText: unknown } };
  parseJsonConfigFileContent?: (
    json: unknown,
    host: unknown,
    basePath: string,
    existing?: unknown,
    configFileName?: string,
  ) => { options: { outDir?: string; rootDir?: string }; errors: Array<{ code: number; messageText: unknown }> };
}

// "No inputs were found in config file": says nothing about outDir (make:job runs before any source exists).
const NO_INPUTS = 18003;

/**
 * Reads `tsconfig` as tsc would: with the project's own `typescript` package when it has the JS
 * API (5.x, 6.x), which follows `extends` exactly; else (7.x, whose package exports no such API,
 * or no TypeScript installed) by following `extends` here, for relative paths and package bases,
 * best effort. Used to word hints, so a failure is reported as `unknown`, never thrown.
 */
export function readCompilerPaths(tsconfig: string): CompilerPaths {
  const typescript = projectTypeScript(path.dirname(tsconfig));
  const version = typeof typescript?.version === 'string' ? typescript.version : undefined;
  const viaApi = typescript ? readWithApi(typescript, tsconfig) : undefined;
  const paths = viaApi ?? readByHand(tsconfig);
  return version ? { ...paths, typescriptVersion: version } : paths;
}

function projectTypeScript(dir: string): TypeScriptApi | undefined {
  try {
    return createRequire(path.join(dir, 'package.json'))('typescript') as TypeScriptApi;
  } catch {
    return undefined;
  }
}

function readWithApi(ts: TypeScriptApi, tsconfig: string): CompilerPaths | undefined {
  if (typeof ts.readConfigFile !== 'function' || typeof ts.parseJsonConfigFileContent !== 'function' || !ts.sys)
    return undefined;
  try {
    const read = ts.readConfigFile(tsconfig, (file) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined));
    if (read.error) return { unknown: `${tsconfig} could not be read: ${messageOf(read.error.messageText)}` };
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, path.dirname(tsconfig), undefined, tsconfig);
    const { outDir, rootDir } = parsed.options;
    const problem = parsed.errors.find((error) => error.code !== NO_INPUTS);
    // An error (a base config not found …) may have hidden an outDir; one that is set stands.
    if (outDir === undefined && problem) return { rootDir, unknown: `${tsconfig}: ${messageOf(problem.messageText)}` };
    return { outDir, rootDir };
  } catch (error) {
    return { unknown: `${tsconfig} could not be read: ${(error as Error).message}` };
  }
}

/** compilerOptions.outDir/rootDir along the `extends` chain, each resolved from the config that sets it. */
function readByHand(tsconfig: string): CompilerPaths {
  const configDir = path.dirname(tsconfig);
  const seen = new Set<string>();
  const read = (file: string): CompilerPaths => {
    if (seen.has(file)) return { unknown: `${file} extends itself (through ${[...seen].join(' → ')})` };
    seen.add(file);
    let json: { extends?: unknown; compilerOptions?: { outDir?: unknown; rootDir?: unknown } };
    try {
      json = JSON.parse(stripJsonComments(readFileSync(file, 'utf8'))) as typeof json;
    } catch (error) {
      return { unknown: `${file} could not be read: ${(error as Error).message}` };
    }
    // Bases first, in order; this file's own options win (tsc's rule for an `extends` array too).
    let merged: CompilerPaths = {};
    const bases = typeof json.extends === 'string' ? [json.extends] : Array.isArray(json.extends) ? json.extends : [];
    for (const base of bases) {
      const baseFile = typeof base === 'string' ? resolveBase(base, path.dirname(file)) : undefined;
      const from = baseFile
        ? read(baseFile)
        : { unknown: `${file} extends ${JSON.stringify(base)}, which errand could not find` };
      merged = { ...merged, ...defined(from) };
    }
    const own = json.compilerOptions ?? {};
    const resolve = (value: unknown) =>
      typeof value === 'string'
        ? path.resolve(path.dirname(file), value.replaceAll('${configDir}', configDir))
        : undefined;
    return { ...merged, ...defined({ outDir: resolve(own.outDir), rootDir: resolve(own.rootDir) }) };
  };
  const paths = read(tsconfig);
  // An outDir found anywhere in the chain is known, whatever else could not be read.
  return paths.outDir !== undefined ? { outDir: paths.outDir, rootDir: paths.rootDir } : paths;
}

/** Where an `extends` entry points: a path relative to `from`, or a file or package under node_modules. */
function resolveBase(base: string, from: string): string | undefined {
  const asFile = (candidate: string) =>
    [candidate, `${candidate}.json`].find((file) => existsSync(file) && statSync(file).isFile());
  if (base.startsWith('.') || path.isAbsolute(base)) return asFile(path.resolve(from, base));
  for (let dir = from; ; dir = path.dirname(dir)) {
    const target = path.join(dir, 'node_modules', base);
    const found = asFile(target) ?? packageTsconfig(target);
    if (found) return found;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** A package named as a base: its package.json's `tsconfig` field, else its tsconfig.json. */
function packageTsconfig(packageDir: string): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { tsconfig?: unknown };
    if (typeof manifest.tsconfig === 'string') return path.join(packageDir, manifest.tsconfig);
  } catch {
    // No package.json: look for tsconfig.json below.
  }
  const file = path.join(packageDir, 'tsconfig.json');
  return existsSync(file) ? file : undefined;
}

/** The entries of `paths` that are set, so spreading it does not erase what a base set. */
function defined(paths: CompilerPaths): CompilerPaths {
  return Object.fromEntries(Object.entries(paths).filter(([, value]) => value !== undefined)) as CompilerPaths;
}

function messageOf(text: unknown): string {
  if (typeof text === 'string') return text;
  const chain = text as { messageText?: unknown } | undefined;
  return typeof chain?.messageText === 'string' ? chain.messageText : String(text);
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
