import path from 'node:path';

import type { ResolvedConfig } from '../config/config-types.js';
import { CONFIG_FILES } from '../config/load-config.js';
import { configPath, entryCovers, outDirUnknown } from '../config/module-paths.js';
import {
  compiledEntryFor,
  compiledPathOf,
  isInside,
  isTypeScriptSource,
  typeScriptLayout,
} from '../config/typescript-layout.js';

/**
 * What `make:job` adds when the worker would not import the class it just wrote: the config's
 * `bootstrap` is missing, names TypeScript, or names files and directories that will not hold the
 * compiled class. The hint names the config file, the option and the path to set. Undefined when
 * a bootstrap entry takes in the compiled file (so a second `make:job` in the same directory is
 * quiet once `bootstrap` names the directory or a glob). When the tsconfig.json cannot be read
 * through, where the class compiles to is unknown: the hint names no path, and says no entry
 * "will not import" it.
 */
export function bootstrapHint(config: ResolvedConfig, source: string, className: string): string | undefined {
  const layout = typeScriptLayout(config.baseDir);
  const compiled = compiledPathOf(source, layout);
  const entry = compiledEntryFor(path.dirname(source), layout);
  if (compiled === undefined || entry === undefined)
    return unknownLayoutHint(config, source, className, outDirUnknown(layout));
  if (config.bootstrap.some((named) => entryCovers(named, compiled))) return undefined;
  const file = configPath(compiled, config);
  const dir = configPath(entry, config);
  const perTsconfig = layout.tsconfig && layout.outDir && isInside(layout.rootDir, source);
  const per = perTsconfig ? `, per ${path.relative(config.baseDir, layout.tsconfig!) || layout.tsconfig}` : '';
  const compiles = `${className} compiles to ${file}${per}`;
  if (!config.source) {
    return `There is no config file (${CONFIG_FILES.join(', ')}), so queue:work imports no job: create errand.config.mjs with bootstrap: '${dir}'; ${compiles}.`;
  }
  const where = path.relative(process.cwd(), config.source) || config.source;
  if (config.bootstrap.length === 0) {
    return `${where} sets no \`bootstrap\`, so queue:work will not know ${className}: add bootstrap: '${dir}'; ${compiles}.`;
  }
  const typescript = config.bootstrap.find((named) => isTypeScriptSource(named) || entryCovers(named, source));
  if (typescript) {
    return `\`bootstrap\` in ${where} names TypeScript (${configPath(typescript, config)}), which Node cannot import: compile (npx tsc) and point it at '${dir}'; ${compiles}.`;
  }
  const named = config.bootstrap.map((one) => configPath(one, config)).join(', ');
  const which = entry === path.dirname(compiled) ? 'its directory' : 'the .js beside its sources';
  return `\`bootstrap\` in ${where} (${named}) will not import ${className}, which compiles to ${file}${per}: add '${dir}' (${which}) or '${file}' to \`bootstrap\`.`;
}

/** The hint when where the class compiles to is unknown: only what is sure (no config, no bootstrap, TypeScript named). */
function unknownLayoutHint(
  config: ResolvedConfig,
  source: string,
  className: string,
  output: string,
): string | undefined {
  const compiled = `the compiled output of ${className}${output}`;
  if (!config.source)
    return `There is no config file (${CONFIG_FILES.join(', ')}), so queue:work imports no job: create errand.config.mjs whose \`bootstrap\` names ${compiled}.`;
  const where = path.relative(process.cwd(), config.source) || config.source;
  if (config.bootstrap.length === 0)
    return `${where} sets no \`bootstrap\`, so queue:work will not know ${className}: set it to ${compiled}.`;
  const typescript = config.bootstrap.find((named) => isTypeScriptSource(named) || entryCovers(named, source));
  if (typescript)
    return `\`bootstrap\` in ${where} names TypeScript (${configPath(typescript, config)}), which Node cannot import: point it at ${compiled}.`;
  const named = config.bootstrap.map((one) => configPath(one, config)).join(', ');
  return `Check that \`bootstrap\` in ${where} (${named}) takes in ${compiled}.`;
}
