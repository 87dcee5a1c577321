import { randomUUID } from 'node:crypto';
import path from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_MAX_PAYLOAD_SIZE } from '../../src/config/defaults.js';
import { CALL_QUEUED_HANDLER } from '../../src/payload/job-payload.js';
import { generateKey, Keyring, parseKey } from '../../src/payload/keyring.js';
import { jsonEvents, sleep, waitUntil, workerIdOf } from '../helpers/daemon.js';
import { type DatabaseEngine, databaseOnly, freshDatabase } from '../helpers/databases.js';
import { ROOT } from '../helpers/run-cli.js';
import { countRows, type WorkerApp } from '../helpers/worker-process.js';
import { CHAOS_JOBS, Controller, createChaosApp } from './harness/controller.js';
import { executions } from './harness/ledger.js';
import { recordResult, sized } from './harness/scale.js';

// Scenario 12: the poison payload matrix. Rows are written straight into `jobs`, as a producer in
// another language (or a corrupted backup) would: each must end in failed_jobs with its own
// reason, claimed once, none of the job's code run, and the worker that met them works on.
const POISON_JOBS = path.join(ROOT, 'test/reliability/fixtures/poison-jobs.mjs');
/** --sleep: the poll interval of an idle worker (the bound for a raw insert, which wakes nobody). */
const POLL_S = 1;
/** Slack on a loaded 2-core machine, over the plan's windows. */
const MARGIN_MS = 4000;
const ROUNDS = sized(1, 10);

/** The largest value the `attempts` column takes on each engine (integer, unsigned where the engine has it). */
const ATTEMPTS_COLUMN_MAX: Record<DatabaseEngine, string> = {
  postgres: '2147483647',
  mysql: '4294967295',
  sqlite: '9223372036854775807',
};

interface Poison {
  name: string;
  payload: string;
  attempts?: string;
  /** What failed_jobs.exception must start with. */
  reason: RegExp;
}

/** A well-formed payload (the wire format of docs/payload.md), with `change` applied to it. */
function payloadOf(
  name: string,
  command: unknown,
  change: (p: Record<string, unknown>) => void = () => undefined,
): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    uuid: randomUUID(),
    displayName: name,
    job: CALL_QUEUED_HANDLER,
    maxTries: 3,
    maxExceptions: null,
    failOnTimeout: false,
    backoff: null,
    timeout: null,
    retryUntil: null,
    data: { commandName: name, command },
    createdAt: Math.floor(Date.now() / 1000),
    delay: null,
  };
  change(payload);
  return payload;
}

const json = (value: unknown) => JSON.stringify(value);

/** The matrix. Every row that names a real job carries a ledger key: had its handler run, the ledger would say so. */
function poisonRows(engine: DatabaseEngine, keyring: Keyring, round: number): Poison[] {
  const key = (name: string) => ({ key: `poison-${round}-${name}`, ms: 0 });
  const valid = (name: string) => json(payloadOf('ChaosJob', key(name)));
  const truncated = valid('truncated');
  const sealed = keyring.seal(json({ command: key('tampered') }), 'SecretChaosJob');
  // Flip one bit of the GCM tag (after the prefix and the 12-byte IV).
  const raw = Buffer.from(sealed.slice('errand:v1:'.length), 'base64');
  raw[14]! ^= 0x01;
  const tampered = `errand:v1:${raw.toString('base64')}`;
  const filler = 'x'.repeat(DEFAULT_MAX_PAYLOAD_SIZE);
  return [
    {
      name: 'invalid JSON',
      payload: `{"uuid": "${randomUUID()}", data: nope}`,
      reason: /^PayloadError: The payload is not valid JSON: (Unexpected token|Expected)/,
    },
    {
      name: 'truncated',
      payload: truncated.slice(0, Math.floor(truncated.length / 2)),
      reason: /^PayloadError: The payload is not valid JSON: (Unterminated string|Unexpected end|Expected)/,
    },
    {
      name: 'not an object',
      payload: json([payloadOf('ChaosJob', key('array'))]),
      reason: /^PayloadError: The payload is not a JSON object\.$/,
    },
    {
      name: 'empty',
      payload: '',
      reason: /^PayloadError: The payload is not valid JSON: Unexpected end of JSON input$/,
    },
    {
      name: 'no uuid',
      payload: json(payloadOf('ChaosJob', key('no-uuid'), (p) => delete p.uuid)),
      reason: /^PayloadError: The payload has no uuid\.$/,
    },
    {
      name: 'numeric uuid',
      payload: json(payloadOf('ChaosJob', key('numeric-uuid'), (p) => (p.uuid = 42))),
      reason: /^PayloadError: The payload has no uuid\.$/,
    },
    // failed_jobs.uuid holds 36 characters, and PostgreSQL's text no NUL: a uuid or an error text
    // the table cannot take would leave the row reserved and never recorded.
    {
      name: 'uuid longer than failed_jobs.uuid',
      payload: json(payloadOf('ChaosJob', key('long-uuid'), (p) => (p.uuid = 'u'.repeat(100)))),
      reason: /^PayloadError: The payload's uuid is not one failed_jobs can hold: at most 36 characters, no NUL\.$/,
    },
    {
      name: 'NUL in the uuid',
      payload: json(payloadOf('ChaosJob', key('nul-uuid'), (p) => (p.uuid = `${randomUUID().slice(0, 30)}\u0000`))),
      reason: /^PayloadError: The payload's uuid is not one failed_jobs can hold/,
    },
    {
      name: 'NUL in the job name',
      payload: json(payloadOf('Chaos\u0000Job', key('nul-name'))),
      reason: /^PayloadError: Unknown job \[Chaos\\u0000Job\]: no class is registered under that name\./,
    },
    {
      name: 'NUL in the displayName, attempts at maxTries',
      payload: json(payloadOf('ChaosJob', key('nul-display'), (p) => (p.displayName = 'Chaos\u0000Job'))),
      attempts: '3',
      reason: /^MaxAttemptsExceededError: Chaos\\u0000Job has been attempted too many times\.$/,
    },
    {
      name: 'no data',
      payload: json(payloadOf('ChaosJob', key('no-data'), (p) => delete p.data)),
      reason: /^PayloadError: The payload has no data\.commandName\.$/,
    },
    {
      name: 'numeric commandName',
      payload: json(
        payloadOf('ChaosJob', key('numeric-name'), (p) => ((p.data as Record<string, unknown>).commandName = 7)),
      ),
      reason: /^PayloadError: The payload has no data\.commandName\.$/,
    },
    {
      name: 'command not an object',
      payload: json(payloadOf('ChaosJob', 42)),
      reason: /^PayloadError: The payload of ChaosJob has no data\.command object\.$/,
    },
    {
      name: 'maxTries a string',
      payload: json(payloadOf('ChaosJob', key('tries-string'), (p) => (p.maxTries = 'three'))),
      reason: /^PayloadError: The payload of ChaosJob has a non-numeric maxTries\.$/,
    },
    {
      name: 'timeout an object',
      payload: json(payloadOf('ChaosJob', key('timeout-object'), (p) => (p.timeout = { s: 1 }))),
      reason: /^PayloadError: The payload of ChaosJob has a non-numeric timeout\.$/,
    },
    {
      name: 'backoff a list',
      payload: json(payloadOf('ChaosJob', key('backoff-list'), (p) => (p.backoff = [1, 2]))),
      reason: /^PayloadError: The payload of ChaosJob has an unreadable backoff \[1,2\]\.$/,
    },
    {
      name: 'malformed model identifier',
      payload: json(
        payloadOf(
          'ChaosJob',
          key('models'),
          (p) =>
            ((p.data as Record<string, unknown>).models = { user: { class: 'User', id: { $ne: 1 }, relations: [] } }),
        ),
      ),
      reason:
        /^PayloadError: The payload of ChaosJob has a malformed model identifier at data\.models\.user: id must be a key or a list of keys\.$/,
    },
    {
      name: 'over the size limit',
      payload: json(payloadOf('ChaosJob', { ...key('oversize'), filler })),
      reason: new RegExp(
        `^PayloadError: The payload is \\d+ bytes, over maxPayloadSize \\(${DEFAULT_MAX_PAYLOAD_SIZE}\\); it was not decoded\\.$`,
      ),
    },
    {
      name: '__proto__ key',
      payload: valid('proto').replace('"command":{', '"command":{"__proto__":{"polluted":true},'),
      reason:
        /^PayloadError: The payload holds the forbidden key \[__proto__\] at payload\.data\.command\.__proto__: keys that reach an object's prototype are refused\.$/,
    },
    {
      name: 'escaped __proto__ key',
      payload: valid('escaped-proto').replace('"command":{', '"command":{"\\u005f_proto__":{"polluted":true},'),
      reason: /^PayloadError: The payload holds the forbidden key \[__proto__\] at payload\.data\.command\.__proto__/,
    },
    {
      name: 'constructor key',
      payload: json(
        payloadOf('ChaosJob', { ...key('constructor'), nested: { constructor: { prototype: { polluted: true } } } }),
      ),
      reason:
        /^PayloadError: The payload holds the forbidden key \[constructor\] at payload\.data\.command\.nested\.constructor: /,
    },
    {
      name: 'tampered encrypted data',
      payload: json(payloadOf('SecretChaosJob', tampered)),
      reason:
        /^PayloadError: Job SecretChaosJob: its encrypted data could not be opened: it was tampered with, or sealed under a key that is neither the current key nor a previous one\. Nothing was run\.$/,
    },
    {
      name: 'encrypted data cut short',
      payload: json(payloadOf('SecretChaosJob', 'errand:v1:AAAA')),
      reason: /^PayloadError: Job SecretChaosJob: its encrypted data could not be opened: it was tampered with/,
    },
    {
      name: 'encrypted job in plaintext',
      payload: json(payloadOf('SecretChaosJob', key('unsigned'))),
      reason:
        /^PayloadError: Job SecretChaosJob is encrypted, but this payload holds its data in plaintext: refused, nothing was run\.$/,
    },
    {
      name: 'unregistered name',
      payload: json(payloadOf('NoSuchJob', key('unknown'))),
      reason: /^PayloadError: Unknown job \[NoSuchJob\]: no class is registered under that name\./,
    },
    {
      name: 'foreign handler',
      payload: json(
        payloadOf('ChaosJob', key('laravel'), (p) => (p.job = 'Illuminate\\Queue\\CallQueuedHandler@call')),
      ),
      reason:
        /^PayloadError: The payload names handler \[Illuminate\\Queue\\CallQueuedHandler@call\]; errand only runs \[errand:CallQueuedHandler@call\]\.$/,
    },
    // Ids bound into other tables' queries: a NUL there failed the job's failure on PostgreSQL.
    {
      name: 'NUL in the batchId',
      payload: json(payloadOf('ChaosJob', key('nul-batch'), (p) => (p.batchId = 'b\u0000'))),
      attempts: '3',
      reason:
        /^PayloadError: The payload of ChaosJob has a malformed batchId: it must be a batch id \(a non-empty string of at most 36 characters, without NUL\)\.$/,
    },
    {
      name: 'NUL in the unique key',
      payload: json(
        payloadOf(
          'ChaosJob',
          key('nul-unique'),
          (p) => (p.unique = { key: 'errand:unique:ChaosJob:\u0000', until: 'done' }),
        ),
      ),
      attempts: '3',
      reason:
        /^PayloadError: The payload of ChaosJob has a malformed unique: it must be \{ key: a non-empty string without NUL, until: 'processing' \| 'done' \}\.$/,
    },
    {
      name: 'attempts at maxTries',
      payload: json(payloadOf('ChaosJob', key('at-max'))),
      attempts: '3',
      reason: /^MaxAttemptsExceededError: ChaosJob has been attempted too many times\.$/,
    },
    {
      name: 'attempts one below the column maximum',
      payload: json(payloadOf('ChaosJob', key('column-max-1'))),
      attempts: (BigInt(ATTEMPTS_COLUMN_MAX[engine]) - 1n).toString(),
      reason: /^MaxAttemptsExceededError: ChaosJob has been attempted too many times\.$/,
    },
    {
      name: 'attempts at the column maximum',
      payload: json(payloadOf('ChaosJob', key('column-max'))),
      attempts: ATTEMPTS_COLUMN_MAX[engine],
      reason: /^MaxAttemptsExceededError: ChaosJob has been attempted too many times\.$/,
    },
    {
      name: 'attempts at the column maximum, no maxTries',
      payload: json(payloadOf('ChaosJob', key('column-max-default'), (p) => (p.maxTries = null))),
      attempts: ATTEMPTS_COLUMN_MAX[engine],
      reason: /^MaxAttemptsExceededError: ChaosJob has been attempted too many times\.$/,
    },
  ];
}

const describeEachSql = databaseOnly(
  'writes poison rows into the SQL jobs table; its Redis counterparts are the test/reliability/redis-*.test.ts scenarios',
);
await describeEachSql('reliability 12: poison payload matrix', (engine) => {
  let app: WorkerApp;
  let controller: Controller | undefined;
  const errandKey = generateKey();
  const keyring = new Keyring(parseKey(errandKey, 'ERRAND_KEY'));

  beforeAll(async () => {
    app = await createChaosApp(await freshDatabase(engine, 'rel_poison_rows'), {
      bootstrap: [CHAOS_JOBS, POISON_JOBS],
      overrides: { heartbeat: { interval: 1, lapse: 5 } },
    });
  });
  afterAll(async () => {
    await controller?.stopAll();
    await app?.close();
  });

  it(`each poison row fails once with its own reason, runs nothing, and the worker works on (${ROUNDS} round(s))`, async () => {
    for (const table of ['jobs', 'failed_jobs', 'ledger']) await app.knex(table).delete();
    // Four slots, so poison rows are met side by side. SQLite runs one: a tracked job's ledger
    // write (better-sqlite3 is synchronous, on its own connection to the same file) made while
    // the process holds the write transaction failing another job would wait out the busy
    // timeout with the event loop blocked (5 s, then SQLITE_BUSY), a hazard of the fixture.
    const slots = engine === 'sqlite' ? 1 : 4;
    controller = new Controller(app, ['queue:work', `--concurrency=${slots}`, `--sleep=${POLL_S}`, '--json'], {
      ERRAND_KEY: errandKey,
    });
    const [worker] = controller.start(1);
    await worker!.waitFor(/"status":"worker_starting"/);
    const workerId = workerIdOf(worker!.stdout());
    /** A wait that timed out: which rows are stuck, what the handlers recorded, what the worker said. */
    const explain = async (error: Error): Promise<never> => {
      const left = (await app.knex('jobs').select('id', 'attempts', 'reserved_by')) as unknown[];
      throw new Error(
        `${error.message}\nrows left: ${JSON.stringify(left)}\nledger: ${JSON.stringify(await executions(app.knex))}\nstderr: ${controller!.stderr()}\nstdout: ${worker!.stdout()}`,
      );
    };
    const started = Date.now();
    let poisonCount = 0;
    const timings: string[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      const poison = poisonRows(engine, keyring, round);
      poisonCount += poison.length;
      const before = await countRows(app.knex, 'failed_jobs');
      const now = Math.floor(Date.now() / 1000);
      // One transaction: the worker meets them all at once, in this order, with the normal job last.
      const ids = await app.knex.transaction(async (trx) => {
        const inserted: string[] = [];
        for (const row of poison) {
          const insert = trx('jobs').insert({
            queue: 'default',
            payload: row.payload,
            attempts: row.attempts ?? '0',
            available_at: now - 1,
            created_at: now,
          });
          // MySQL answers an insert with its id; the others say it with RETURNING.
          const [id] = (await (engine === 'mysql' ? insert : insert.returning('id'))) as Array<
            { id: number | string } | number
          >;
          inserted.push(String(typeof id === 'object' ? id.id : id));
        }
        await trx('jobs').insert({
          queue: 'default',
          payload: json(payloadOf('ChaosJob', { key: `normal-${round}`, ms: 0 })),
          attempts: 0,
          available_at: now - 1,
          created_at: now,
        });
        return inserted;
      });
      const insertedAt = Date.now();

      // Every poison row is failed within one poll interval (plus the margin).
      const failedIn = await waitUntil(
        async () => (await countRows(app.knex, 'failed_jobs')) - before >= poison.length && Date.now() - insertedAt,
        POLL_S * 1000 + MARGIN_MS,
        `round ${round}: ${poison.length} poison rows to reach failed_jobs`,
      ).catch(explain);
      // The normal job behind them finishes within a second of them (plus the margin).
      const normalIn = await waitUntil(
        async () =>
          (await executions(app.knex)).find((run) => run.key === `normal-${round}` && run.finishedAt !== null)
            ?.finishedAt ?? undefined,
        POLL_S * 1000 + 1000 + MARGIN_MS,
        `round ${round}: the normal job behind the poison rows to finish`,
      ).catch(explain);
      timings.push(`poison failed after ${failedIn} ms, normal job done after ${normalIn - insertedAt} ms`);
      expect(normalIn - insertedAt - failedIn).toBeLessThanOrEqual(1000 + MARGIN_MS);

      // Each row: exactly one failed_jobs row, with its own reason, and its id seen starting once
      // and failing once (claimed once: never retried, never re-claimed).
      const failed = (await app
        .knex('failed_jobs')
        .select('payload', 'exception')
        .orderBy('id')
        .offset(before)) as Array<{ payload: string; exception: string }>;
      expect(failed).toHaveLength(poison.length);
      const events = jsonEvents(worker!.stdout());
      for (const [i, row] of poison.entries()) {
        const mine = failed.filter((f) => f.payload === row.payload);
        expect(mine, `${row.name}: one failed_jobs row`).toHaveLength(1);
        expect(mine[0]!.exception.split('\n')[0], row.name).toMatch(row.reason);
        const seen = events.filter((e) => e.id === ids[i]);
        expect(
          seen.map((e) => e.status),
          `${row.name}: claimed once`,
        ).toEqual(['starting', 'failed']);
        // The claim counts one more attempt, up to 2^31 − 1, whatever the column holds.
        if (row.attempts)
          expect(seen[1]!.attempts, `${row.name}: attempts`).toBe(
            Math.min(Number(BigInt(row.attempts) + 1n), 2 ** 31 - 1),
          );
      }
      // No handler ran: the ledger holds the normal jobs only.
      expect((await executions(app.knex)).map((run) => run.key)).toEqual(
        Array.from({ length: round + 1 }, (_, r) => `normal-${r}`),
      );
      expect(await countRows(app.knex, 'jobs')).toBe(0);
    }

    // Nothing comes back later: no poison row was released to be retried.
    await sleep(2 * POLL_S * 1000);
    expect(await countRows(app.knex, 'jobs')).toBe(0);
    expect(await countRows(app.knex, 'failed_jobs')).toBe(poisonCount);
    // The same process did it all: it never exited nor restarted, and said nothing on stderr.
    expect(controller.exits).toEqual([]);
    expect(worker!.child.exitCode).toBeNull();
    expect(
      jsonEvents(worker!.stdout())
        .filter((e) => e.status === 'worker_starting')
        .map((e) => [e.pid, e.worker]),
    ).toEqual([[worker!.pid, workerId]]);
    expect(controller.stderr()).toBe('');
    console.log(`[${engine}] poison rows: ${timings.join('; ')}`);
    recordResult({
      scenario: '12 poison rows',
      engine,
      jobs: poisonCount + ROUNDS,
      executions: (await executions(app.knex)).length,
      duplicates: 0,
      lost: 0,
      seconds: (Date.now() - started) / 1000,
    });
    await controller.stopAll();
  });
});
