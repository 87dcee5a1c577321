import { transformSync } from '@swc/core';
import { injectable, container as rootContainer } from 'tsyringe';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

import { Inject } from '../../src/decorators/inject.js';
import { Job } from '../../src/decorators/job.js';
import { Listener } from '../../src/decorators/listener.js';
import { METADATA_SETTINGS } from '../../src/decorators/param-types.js';
import { BindingResolutionError } from '../../src/errors/binding-resolution-error.js';
import { ConfigError } from '../../src/errors/config-error.js';
import { resolveHandleArguments } from '../../src/execution/resolve-handle-arguments.js';
import { jobRegistry } from '../../src/job/job-registry.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { createWorker } from '../../src/worker/create-worker.js';

@injectable()
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
  const options = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.None,
    experimentalDecorators: true,
    emitDecoratorMetadata: metadata,
  };
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
  return new Function('Job', 'Inject', 'Queueable', 'Tracker', `${code}\nreturn ${className};`)(
    Job,
    Inject,
    Queueable,
    Tracker,
  ) as Function;
}

describe('a handle() that takes services it has no types for: recorded by @Job, refused by a worker', () => {
  it.each([
    ['tsc', tscOutput, 'TscMetaJob'],
    ['swc', swcOutput, 'SwcMetaJob'],
  ] as const)(
    'accepts the job as %s compiles it with decorator metadata, and it is registered',
    (_compiler, compile, name) => {
      const target = defineCompiled(compile(jobSource(name), true), name);
      expect(jobRegistry.byName(name)?.target).toBe(target);
    },
  );

  it.each([
    ['tsc without emitDecoratorMetadata', tscOutput, 'TscBareJob'],
    ['swc without decoratorMetadata', swcOutput, 'SwcBareJob'],
  ] as const)(
    'registers the job as %s compiles it (a process may only dispatch it), recording why its services cannot be resolved',
    (_compiler, compile, name) => {
      const compiled = compile(jobSource(name), false);
      expect(compiled).not.toContain('design:paramtypes');
      const target = defineCompiled(compiled, name);
      expect(jobRegistry.byName(name)).toMatchObject({
        target,
        paramTypesProblem:
          'handle() takes 1 parameter(s) but no parameter types were emitted for it (design:paramtypes)',
      });
    },
  );

  it('records a handle() with parameters and no decorator, as tsc leaves it (no @Inject(), no types)', () => {
    class NoInjectJob extends Queueable {
      async handle(_tracker: Tracker): Promise<void> {}
    }
    expect(() => Job()(NoInjectJob)).not.toThrow();
    expect(jobRegistry.byClass(NoInjectJob)?.paramTypesProblem).toMatch(/^handle\(\) takes 1 parameter\(s\)/);
  });

  it('a worker refuses to start while such jobs are registered, naming each (its class beside a `name` option) and the settings', async () => {
    class RenamedBareJob extends Queueable {
      async handle(_a: Tracker, _b: Tracker): Promise<void> {}
    }
    Job({ name: 'billing.Renamed' })(RenamedBareJob);
    // Workers claim only from a connection that keeps jobs; the refusal comes before any query.
    await boot({
      default: 'database',
      connections: { database: { driver: 'database', client: 'better-sqlite3', connection: { filename: ':memory:' } } },
    });
    try {
      const run = createWorker({ stopWhenEmpty: true }).run();
      await expect(run).rejects.toThrow(ConfigError);
      await expect(run).rejects.toThrow(
        'The worker cannot start: 4 jobs cannot have their handle() services resolved. ' +
          'Job TscBareJob: handle() takes 1 parameter(s) but no parameter types were emitted for it (design:paramtypes); ' +
          'Job SwcBareJob: handle() takes 1 parameter(s) but no parameter types were emitted for it (design:paramtypes); ' +
          'Job NoInjectJob: handle() takes 1 parameter(s) but no parameter types were emitted for it (design:paramtypes); ' +
          'Job billing.Renamed (class RenamedBareJob): handle() takes 2 parameter(s) but no parameter types were emitted for it (design:paramtypes). ' +
          `Put @Inject() on handle(), and ${METADATA_SETTINGS}`,
      );
    } finally {
      await shutdown();
    }
  });

  it("reads handle()'s types from the class that defines it: a subclass's own undecorated handle(ledger) has none, an inherited one keeps the parent's", () => {
    // Reading the parent's types would resolve a Tracker for the Ledger parameter.
    class Ledger {}
    @Job()
    class ParentTrackingJob extends Queueable {
      @Inject()
      async handle(_tracker: Tracker): Promise<void> {}
    }
    class OwnHandleJob extends ParentTrackingJob {
      override async handle(_ledger: Ledger): Promise<void> {}
    }
    class InheritedHandleJob extends ParentTrackingJob {}
    Job()(OwnHandleJob);
    Job()(InheritedHandleJob);
    expect(jobRegistry.byClass(OwnHandleJob)?.paramTypesProblem).toBe(
      'handle() takes 1 parameter(s) but no parameter types were emitted for it (design:paramtypes)',
    );
    expect(jobRegistry.byClass(InheritedHandleJob)?.paramTypesProblem).toBeUndefined();
    const container = () => rootContainer;
    // The attempt's own check, the last line for a class registered after the worker started.
    expect(() => resolveHandleArguments(new OwnHandleJob(), 'OwnHandleJob', container)).toThrow(BindingResolutionError);
    expect(() => resolveHandleArguments(new OwnHandleJob(), 'OwnHandleJob', container)).toThrow(
      `OwnHandleJob.handle() takes 1 parameter(s) but no type metadata was found: decorate handle() with @Inject(), and ${METADATA_SETTINGS}`,
    );
    expect(resolveHandleArguments(new InheritedHandleJob(), 'InheritedHandleJob', container)).toEqual([
      expect.any(Tracker),
    ]);
  });

  it("does not take a listener's event from its parent's handle() when the subclass's own handle() has no types", () => {
    class ShipmentSent {}
    class RefundIssued {}
    @Listener()
    class AuditShipment {
      @Inject()
      handle(_event: ShipmentSent): void {}
    }
    class AuditRefund extends AuditShipment {
      override handle(_event: RefundIssued): void {}
    }
    expect(() => Listener()(AuditRefund)).toThrow(/^Listener AuditRefund: cannot tell which event handle\(\) hears/);
    expect(() => Listener({ event: RefundIssued })(AuditRefund)).not.toThrow();
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
      expect(jobRegistry.byClass(target)?.paramTypesProblem).toBeUndefined();
    }
  });
});
