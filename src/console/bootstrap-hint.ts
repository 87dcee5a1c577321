import path from 'node:path';

import type { ResolvedConfig } from '../config/config-types.js';
import { CONFIG_FILES } from '../config/load-config.js';
import { configPath, entryCovers } from '../config/module-paths.js';
import { compiledPathOf, isInside, isTypeScriptSource, typeScriptLayout } from '../config/typescript-layout.js';

/**
 * What `make:job` adds when the worker would not import the class it just wrote: the config's
 * `bootstrap` is missing, names TypeScript, or names files and directories that will not hold the
 * compiled class. The hint names the config file, the option and the path to set. Undefined when
 * a bootstrap entry takes in the compiled file (so a second `make:job` in the same directory is
 * quiet once `bootstrap` names the directory or a glob).
 */
export function bootstrapHint(config: ResolvedConfig, source: string, className: string): string | undefined {
  const layout = typeScriptLayout(config.baseDir);
  const compiled = compiledPathOf(source, layout);
  if (config.bootstrap.some((entry) => entryCovers(entry, compiled))) return undefined;
  const file = configPath(compiled, config);
  const dir = configPath(path.dirname(compiled), config);
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
  const typescript = config.bootstrap.find((entry) => isTypeScriptSource(entry) || entryCovers(entry, source));
  if (typescript) {
    return `\`bootstrap\` in ${where} names TypeScript (${configPath(typescript, config)}), which Node cannot import: compile (npx tsc) and point it at '${dir}'; ${compiles}.`;
  }
  const named = config.bootstrap.map((entry) => configPath(entry, config)).join(', ');
  return `\`bootstrap\` in ${where} (${named}) will not import ${className}, which compiles to ${file}${per}: add '${dir}' (its directory) or '${file}' to \`bootstrap\`.`;
}
