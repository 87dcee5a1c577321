import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { ROOT } from './run-cli.js';

const run = promisify(execFile);
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

/**
 * Compiles an app directory with the tsconfig the docs recommend (strict, decorators with
 * metadata, ESM NodeNext, types ['node']) and `extra` compiler options (`checkJs` for JavaScript
 * with `// @ts-check`); resolves to tsc's output, '' when it compiled cleanly.
 */
export async function compileApp(
  dir: string,
  rootDir: string,
  include: string[],
  extra: Record<string, unknown> = {},
): Promise<string> {
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUnusedLocals: true,
        noUnusedParameters: true,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        typeRoots: [path.join(ROOT, 'node_modules/@types')],
        types: ['node'],
        skipLibCheck: false,
        rootDir,
        outDir: 'dist',
        ...extra,
      },
      include,
    }),
  );
  const compiled = await run(process.execPath, [TSC, '-p', dir]).catch(
    (error: { stdout: string; stderr: string }) => error,
  );
  return compiled.stdout + compiled.stderr;
}
