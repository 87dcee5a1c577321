import type { Knex } from 'knex';
import { type DependencyContainer, Lifecycle, container as rootContainer } from 'tsyringe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { DatabaseConnectionConfig, ErrandConfig } from '../../src/config/config-types.js';
import { JobFailed } from '../../src/events/job-failed.js';
import { JobProcessing } from '../../src/events/job-processing.js';
import { JobReleasedAfterException } from '../../src/events/job-released-after-exception.js';
import { generateKey, Keyring, parseKey } from '../../src/payload/keyring.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { events, runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import {
  serialRecorder as rec,
  SerCustomContainerJob,
  SerGreeting,
  SerMissingBindingJob,
  SerMissingTokenJob,
  SerPlainNoteJob,
  SerScopedJob,
  SerScopedLedger,
  SerSealedNoteJob,
  SerServiceJob,
  SerSharedTally,
} from '../fixtures/jobs/serialization-jobs.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';

const KEY_A = generateKey();
const KEY_B = generateKey();
const ringOf = (key: string) => new Keyring(parseKey(key, 'test key'));

const SECRET = 'card-4111-1111-1111-1111';
const WRITTEN_AT = new Date('2023-03-04T05:06:07.000Z');
const TAMPERED_OR_UNKNOWN =
  'Job SerSealedNoteJob: its encrypted data could not be opened: it was tampered with, or sealed under a key that is neither the current key nor a previous one. Nothing was run.';
const PLAINTEXT =
  'Job SerSealedNoteJob is encrypted, but this payload holds its data in plaintext: refused, nothing was run.';

/** Changes one character in the middle of the sealed text (a position carrying all 6 bits). */
function tamper(sealed: string): string {
  const index = 'errand:v1:'.length + 30;
  return sealed.slice(0, index) + (sealed[index] === 'A' ? 'B' : 'A') + sealed.slice(index + 1);
}

// Registered once in the root container: one ledger per attempt, one tally for the process.
rootContainer.register(SerScopedLedger, { useClass: SerScopedLedger }, { lifecycle: Lifecycle.ContainerScoped });
rootContainer.registerSingleton(SerSharedTally);

const describeEachSql = databaseOnly('reads and tampers with the payloads stored in the jobs table');
await describeEachSql('encrypted jobs and injected services', (engine) => {
  let connection: DatabaseConnectionConfig;
  let knex: Knex;
  const reported: unknown[] = [];
  const processing: Array<{ name: string; attempts: number }> = [];
  const failedEvents: Array<{ name: string; attempts: number; error: string }> = [];
  const released: string[] = [];
  const offs: Array<() => void> = [];

  const work = () => createWorker({ stopWhenEmpty: true, sleep: 0 }).run();
  const failedRows = () => knex('failed_jobs').select('*').orderBy('id') as Promise<Array<Record<string, string>>>;
  const jobRows = () => knex('jobs').select('*').orderBy('id') as Promise<Array<Record<string, string>>>;

  /** Boots (replacing the runtime) against this file's database with the given keys/container. */
  async function bootWith(extra: Partial<ErrandConfig> = {}, container?: DependencyContainer) {
    await boot(
      {
        default: 'database',
        connections: { database: connection },
        report: (error) => reported.push(error),
        key: KEY_A,
        ...extra,
      },
      container ? { container } : {},
    );
    knex = databaseQueue((await runtime()).queues).knex;
  }

  beforeAll(async () => {
    connection = await freshDatabase(engine, 'sealed_di');
    await bootWith();
    await runMigrations();
    offs.push(
      events.on(JobProcessing, (e) => void processing.push({ name: e.job.displayName, attempts: e.job.attempts })),
      events.on(
        JobFailed,
        (e) => void failedEvents.push({ name: e.job.displayName, attempts: e.job.attempts, error: e.error.message }),
      ),
      events.on(JobReleasedAfterException, (e) => void released.push(e.job.displayName)),
    );
  });
  afterAll(async () => {
    for (const off of offs) off();
    await shutdown();
  });
  beforeEach(async () => {
    await bootWith();
    rec.reset();
    reported.length = 0;
    processing.length = 0;
    failedEvents.length = 0;
    released.length = 0;
    await knex('jobs').delete();
    await knex('failed_jobs').delete();
  });

  describe('encrypted jobs', () => {
    it('runs an encrypted job whose stored row holds none of its data in plaintext', async () => {
      const id = await SerSealedNoteJob.dispatch(SECRET, WRITTEN_AT);
      const [row] = await knex('jobs').where({ id });
      expect(row.payload).not.toContain(SECRET);
      expect(row.payload).not.toContain('4111');
      expect(row.payload).not.toContain('2023-03-04');
      const payload = JSON.parse(row.payload);
      expect(payload.displayName).toBe('SerSealedNoteJob');
      expect(Object.keys(payload.data).sort()).toEqual(['command', 'commandName']);
      expect(payload.data.commandName).toBe('SerSealedNoteJob');
      expect(payload.data.command).toMatch(/^errand:v1:[A-Za-z0-9+/]+=*$/);
      // The stored text is sealed under KEY_A and holds {command} (no models).
      expect(JSON.parse(ringOf(KEY_A).open(payload.data.command, 'SerSealedNoteJob')!)).toEqual({
        command: { secret: SECRET, writtenAt: WRITTEN_AT.toISOString() },
      });
      expect(ringOf(KEY_B).open(payload.data.command, 'SerSealedNoteJob')).toBeUndefined();

      expect(await work()).toBe(0);
      expect(rec.handled).toEqual([`sealed ${SECRET} @ ${WRITTEN_AT.toISOString()}`]);
      expect(await failedRows()).toHaveLength(0);
      expect(await jobRows()).toHaveLength(0);
      expect(reported).toEqual([]);
    });

    it('refuses to dispatch an encrypted job when no key is configured, and stores nothing', async () => {
      const saved = process.env.ERRAND_KEY;
      delete process.env.ERRAND_KEY;
      try {
        await bootWith({ key: undefined });
        await expect(SerSealedNoteJob.dispatch(SECRET, WRITTEN_AT)).rejects.toThrow(
          'Job SerSealedNoteJob is encrypted but no key is configured: set ERRAND_KEY (or `key` in the config); `errand key:generate` prints one.',
        );
        expect(await jobRows()).toHaveLength(0);
        await SerPlainNoteJob.dispatch('still queued');
        expect(await jobRows()).toHaveLength(1);
      } finally {
        if (saved !== undefined) process.env.ERRAND_KEY = saved;
      }
    });

    it('key rotation: a job sealed under key A runs on a worker booted with key B and previousKeys [A]', async () => {
      await SerSealedNoteJob.dispatch('sealed-under-a', WRITTEN_AT);
      await bootWith({ key: KEY_B, previousKeys: [KEY_A] });
      // New dispatches are sealed with the new current key.
      const id = await SerSealedNoteJob.dispatch('sealed-under-b', WRITTEN_AT);
      const command = JSON.parse((await knex('jobs').where({ id }))[0].payload).data.command as string;
      expect(ringOf(KEY_B).open(command, 'SerSealedNoteJob')).toBeDefined();
      expect(ringOf(KEY_A).open(command, 'SerSealedNoteJob')).toBeUndefined();

      expect(await work()).toBe(0);
      expect(rec.handled.sort()).toEqual([
        `sealed sealed-under-a @ ${WRITTEN_AT.toISOString()}`,
        `sealed sealed-under-b @ ${WRITTEN_AT.toISOString()}`,
      ]);
      expect(await failedRows()).toHaveLength(0);
    });

    it('without the old key among previousKeys, a job sealed under it is refused (failed, nothing run)', async () => {
      await SerSealedNoteJob.dispatch('orphaned', WRITTEN_AT);
      await SerPlainNoteJob.dispatch('after-orphan');
      await bootWith({ key: KEY_B });
      expect(await work()).toBe(0);
      expect(rec.handled).toEqual(['plain after-orphan']);
      expect(rec.failed).toEqual([]);
      const failed = await failedRows();
      expect(failed).toHaveLength(1);
      expect(failed[0]!.exception).toContain(`PayloadError: ${TAMPERED_OR_UNKNOWN}`);
      expect(JSON.parse(failed[0]!.payload).displayName).toBe('SerSealedNoteJob');
    });

    it('a tampered sealed payload lands in failed_jobs with the reason; neither handle() nor failed() runs; the next job still runs', async () => {
      const id = await SerSealedNoteJob.dispatch(SECRET, WRITTEN_AT);
      await SerPlainNoteJob.dispatch('next');
      const [row] = await knex('jobs').where({ id });
      const payload = JSON.parse(row.payload);
      const forged = tamper(payload.data.command);
      expect(forged).not.toBe(payload.data.command);
      expect(forged).toHaveLength(payload.data.command.length);
      payload.data.command = forged;
      const tamperedText = JSON.stringify(payload);
      expect(await knex('jobs').where({ id }).update({ payload: tamperedText })).toBe(1);

      expect(await work()).toBe(0);
      expect(rec.handled).toEqual(['plain next']);
      expect(rec.failed).toEqual([]);
      const failed = await failedRows();
      expect(failed).toHaveLength(1);
      expect(failed[0]!.uuid).toBe(payload.uuid);
      expect(failed[0]!.exception).toContain(`PayloadError: ${TAMPERED_OR_UNKNOWN}`);
      expect(failed[0]!.payload).toBe(tamperedText);
      expect(failedEvents).toEqual([{ name: 'SerSealedNoteJob', attempts: 1, error: TAMPERED_OR_UNKNOWN }]);
      expect(released).toEqual([]); // refused outright, not retried despite tries: 2
      expect(await jobRows()).toHaveLength(0);
    });

    it('the untampered twin of that payload runs: the refusal above comes from the changed character', async () => {
      const id = await SerSealedNoteJob.dispatch(SECRET, WRITTEN_AT);
      const [row] = await knex('jobs').where({ id });
      // Rewrite the row with identical content (same update path as the tampering test).
      expect(
        await knex('jobs')
          .where({ id })
          .update({ payload: JSON.stringify(JSON.parse(row.payload)) }),
      ).toBe(1);
      await work();
      expect(rec.handled).toEqual([`sealed ${SECRET} @ ${WRITTEN_AT.toISOString()}`]);
      expect(await failedRows()).toHaveLength(0);
    });

    it('a plaintext payload for an encrypted job is refused, nothing runs, and the worker goes on', async () => {
      await insertJobsForTest(knex, 'jobs', 1, () => ({
        name: 'SerSealedNoteJob',
        command: { secret: 'forged', writtenAt: WRITTEN_AT.toISOString() },
        maxTries: 3,
      }));
      await SerPlainNoteJob.dispatch('after-plaintext');
      expect(await work()).toBe(0);
      expect(rec.handled).toEqual(['plain after-plaintext']);
      expect(rec.failed).toEqual([]);
      const failed = await failedRows();
      expect(failed).toHaveLength(1);
      expect(failed[0]!.exception).toContain(`PayloadError: ${PLAINTEXT}`);
      expect(JSON.parse(failed[0]!.payload).data.command).toEqual({
        secret: 'forged',
        writtenAt: WRITTEN_AT.toISOString(),
      });
      expect(failedEvents.map((e) => [e.name, e.attempts])).toEqual([['SerSealedNoteJob', 1]]);
      expect(released).toEqual([]);
    });
  });

  describe('services injected into handle()', () => {
    it('resolves handle() parameters by type while `this` keeps the job data', async () => {
      await SerServiceJob.dispatch('ada');
      await SerServiceJob.dispatch('grace');
      expect(await work()).toBe(0);
      expect(rec.handled.sort()).toEqual(['hello ada (note resolved)', 'hello grace (note resolved)']);
      expect(await failedRows()).toHaveLength(0);
    });

    it('an unregistered parameter fails the job at once (tries: 3 unspent), naming job, position and type', async () => {
      await SerMissingBindingJob.dispatch('m1');
      await SerPlainNoteJob.dispatch('after-binding');
      expect(await work()).toBe(0);
      expect(rec.handled).toEqual(['plain after-binding']);
      expect(processing.filter((p) => p.name === 'SerMissingBindingJob')).toEqual([
        { name: 'SerMissingBindingJob', attempts: 1 },
      ]);
      expect(released).toEqual([]);
      expect(failedEvents.map((e) => [e.name, e.attempts])).toEqual([['SerMissingBindingJob', 1]]);
      const failed = await failedRows();
      expect(failed).toHaveLength(1);
      expect(failed[0]!.exception).toContain(
        'BindingResolutionError: SerMissingBindingJob.handle() parameter 2 (SerUnregistered) could not be resolved from the container: ' +
          'TypeInfo not known for "SerUnregistered" Register SerUnregistered at bootstrap (container.register…), or decorate it with @injectable().',
      );
      // handle() never ran; failed() ran once, with the BindingResolutionError.
      expect(rec.failed).toEqual([
        {
          job: 'missing m1',
          message: expect.stringContaining('parameter 2 (SerUnregistered)'),
          name: 'BindingResolutionError',
        },
      ]);
      expect(await jobRows()).toHaveLength(0);
    });

    it('an @injectable parameter whose dependency token is unregistered fails at once too', async () => {
      await SerMissingTokenJob.dispatch('t1');
      expect(await work()).toBe(0);
      expect(rec.handled).toEqual([]);
      expect(processing).toEqual([{ name: 'SerMissingTokenJob', attempts: 1 }]);
      expect(released).toEqual([]);
      const failed = await failedRows();
      expect(failed).toHaveLength(1);
      expect(failed[0]!.exception).toContain(
        'BindingResolutionError: SerMissingTokenJob.handle() parameter 1 (SerNeedsToken) could not be resolved from the container:',
      );
      expect(failed[0]!.exception).toContain('serialization.missing-token');
      expect(failed[0]!.exception).toContain('Register SerNeedsToken at bootstrap');
    });

    it('a ContainerScoped service is one instance within a job and a new one for the next; singletons are shared and never disposed by a job', async () => {
      await SerScopedJob.dispatch('first');
      await SerScopedJob.dispatch('second');
      await SerScopedJob.dispatch('third');
      expect(await work()).toBe(0);
      expect(rec.scopes.map((s) => s.label)).toEqual(['first', 'second', 'third']);
      for (const scope of rec.scopes) {
        expect(scope.same).toBe(true);
        expect(scope.a).toBe(scope.b);
        expect(scope.fresh[0]).not.toBe(scope.fresh[1]); // transient: one per parameter
      }
      const ledgerIds = rec.scopes.map((s) => s.a);
      expect(new Set(ledgerIds).size).toBe(3);
      expect(new Set(rec.scopes.map((s) => s.shared)).size).toBe(1);
      // The singleton was first built inside a job's scope; that scope ending must not dispose it.
      expect(rec.disposed).toEqual([]);
    });

    it('a container passed to boot() is the one services come from', async () => {
      const custom = rootContainer.createChildContainer();
      custom.register(SerGreeting, { useValue: new SerGreeting('from the custom container') });
      await bootWith({}, custom);
      await SerCustomContainerJob.dispatch('custom');
      expect(await work()).toBe(0);
      expect(rec.handled).toEqual(['custom: from the custom container']);
      expect(await failedRows()).toHaveLength(0);
    });

    it('without that container the same job cannot resolve its service and fails at once', async () => {
      await SerCustomContainerJob.dispatch('root');
      expect(await work()).toBe(0);
      expect(rec.handled).toEqual([]);
      expect(released).toEqual([]);
      const failed = await failedRows();
      expect(failed).toHaveLength(1);
      expect(failed[0]!.exception).toContain(
        'SerCustomContainerJob.handle() parameter 1 (SerGreeting) could not be resolved from the container: TypeInfo not known for "SerGreeting"',
      );
    });
  });
});
