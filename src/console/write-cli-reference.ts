// Writes docs/cli-reference.md from the commands' definitions (`npm run docs:cli`).
import 'reflect-metadata';

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { renderCliReference } from './cli-reference.js';
import { buildProgram } from './program.js';

const target = fileURLToPath(new URL('../../docs/cli-reference.md', import.meta.url));
writeFileSync(target, renderCliReference(buildProgram()));
console.log(`wrote ${target}`);
