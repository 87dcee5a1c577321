import { transformSync } from '@swc/core';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

import { Inject } from '../../src/decorators/inject.js';
import { Job } from '../../src/decorators/job.js';
import { ConfigError } from '../../src/errors/config-error.js';
import { jobRegistry } from '../../src/job/job-registry.js';
import { Queueable } from '../../src/job/queueable.js';

class Tracker {}

/** A job as a user writes it: handle() asks for a Tracker and carries @Inject(). */
function jobSource(className: string): string {
  return `
    declare class Tracker {}
    @Job()
    class ${className} extends Queueable {
      @Inject()
      async handle(tracker: Tracker): Promise<void> {}
    }
  `;
}

/** What tsc (5.x, the one in devDependencies) emits for it, with or without emitDecoratorMetadata. */
function tscOutput(source: string, metadata: boolean): string {
  const options = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.None, experimentalDecorators: true, emitDecoratorMetadata: metadata };
  return ts.transpileModule(source, { compilerOptions: options }).outputText;
}

/** What swc emits for it, with or without jsc.transform.decoratorMetadata. */
function swcOutput(source: string, metadata: boolean): string {
  return transformSync(source, {
    isModule: false,
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: metadata },
      target: 'es2022',
    },
  }).code;
}

/** Runs compiled output the way a module would, with errand's decorators in scope; resolves to the class. */
function defineCompiled(code: string, className: string): Function {
  return new Function('Job', 'Inject', 'Queueable', 'Tracker', `${code}\nreturn ${className};`)(Job, Inject, Queueable, Tracker) as Function;
}

describe('@Job refuses a handle() that takes services it has no types for', () => {
  it.each([
    ['tsc', tscOutput, 'TscMetaJob'],
    ['swc', swcOutput, 'SwcMetaJob'],
  ] as const)('accepts the job as %s compiles it with decorator metadata, and it is registered', (_compiler, compile, name) => {
    const target = defineCompiled(compile(jobSource(name), true), name);
    expect(jobRegistry.byName(name)?.target).toBe(target);
  });

  it.each([
    ['tsc without emitDecoratorMetadata', tscOutput, 'TscBareJob'],
    ['swc without decoratorMetadata', swcOutput, 'SwcBareJob'],
  ] as const)('refuses the job as %s compiles it, naming the class and the settings', (_compiler, compile, name) => {
    const compiled = compile(jobSource(name), false);
    expect(compiled).not.toContain('design:paramtypes');
    expect(() => defineCompiled(compiled, name)).toThrow(ConfigError);
    expect(() => defineCompiled(compiled, name)).toThrow(
      `Job ${name}: handle() takes 1 parameter(s) but no parameter types were emitted for it (design:paramtypes), so its services cannot be resolved. ` +
        'Put @Inject() on handle(), and compile with experimentalDecorators and emitDecoratorMetadata',
    );
    expect(jobRegistry.byName(name)).toBeUndefined();
  });

  it('refuses a handle() with parameters and no decorator, as tsc leaves it (no @Inject(), no types)', () => {
    class NoInjectJob extends Queueable {
      async handle(_tracker: Tracker): Promise<void> {}
    }
    expect(() => Job()(NoInjectJob)).toThrow(/^Job NoInjectJob: handle\(\) takes 1 parameter\(s\)/);
  });

  it('names the class beside a `name` option', () => {
    class RenamedBareJob extends Queueable {
      async handle(_a: Tracker, _b: Tracker): Promise<void> {}
    }
    expect(() => Job({ name: 'billing.Renamed' })(RenamedBareJob)).toThrow(/^Job billing\.Renamed \(class RenamedBareJob\): handle\(\) takes 2 parameter\(s\)/);
  });

  it('needs no metadata for a handle() that takes nothing, or only defaulted or rest parameters', () => {
    class NoParamsJob extends Queueable {
      async handle(): Promise<void> {}
    }
    class DefaultedJob extends Queueable {
      async handle(_retries = 3): Promise<void> {}
    }
    class RestJob extends Queueable {
      async handle(..._services: unknown[]): Promise<void> {}
    }
    for (const target of [NoParamsJob, DefaultedJob, RestJob]) {
      expect(() => Job()(target)).not.toThrow();
      expect(jobRegistry.byClass(target)?.target).toBe(target);
    }
  });
});
