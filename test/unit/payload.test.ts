import { readFileSync } from 'node:fs';

import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';

import { parsePayload, restoreJob } from '../../src/payload/decode-payload.js';
import { effectiveOptions, encodePayload, registeredJobOf } from '../../src/payload/encode-payload.js';
import { AddToBufferJob, RaisingJob, StrictConstructorJob } from '../fixtures/jobs/fixture-jobs.js';

const schema = JSON.parse(readFileSync(new URL('../../docs/payload.schema.json', import.meta.url), 'utf8'));
const validate = new (Ajv2020 as unknown as typeof Ajv2020.default)({ strict: false }).compile(schema);

describe('encodePayload', () => {
  it("freezes the class options and overrides into Laravel's keys, valid against the published schema", () => {
    const job = new RaisingJob('label');
    const options = effectiveOptions(registeredJobOf(job), { backoff: [1, 5, 10], timeout: 30, maxExceptions: 2 }, job);
    const now = new Date('2026-01-01T00:00:00Z');
    const payload = encodePayload(job, options, { delay: 7, now });
    expect(payload).toMatchObject({
      displayName: 'RaisingJob',
      job: 'errand:CallQueuedHandler@call',
      maxTries: 3,
      maxExceptions: 2,
      failOnTimeout: false,
      backoff: '1,5,10',
      timeout: 30,
      retryUntil: null,
      data: { commandName: 'RaisingJob', command: { label: 'label' } },
      createdAt: 1767225600,
      delay: 7,
    });
    expect(payload.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(validate(payload)).toBe(true);
  });

  it('turns retryUntil seconds into an instant after dispatch, and a Date delay into seconds', () => {
    const job = new AddToBufferJob('x');
    const now = new Date('2026-01-01T00:00:00Z');
    const payload = encodePayload(job, { retryUntil: 60 }, { delay: new Date('2026-01-01T00:00:30Z'), now });
    expect(payload.retryUntil).toBe(1767225660);
    expect(payload.delay).toBe(30);
  });

  it('rejects a job that cannot be serialized, naming it', () => {
    const job = new AddToBufferJob('x') as AddToBufferJob & { self?: unknown; big?: bigint };
    job.big = 10n;
    expect(() => encodePayload(job, {})).toThrow(
      'Job AddToBufferJob cannot be queued: property big holds a bigint, which JSON cannot carry; store it as a string.',
    );
  });

  it('refuses at dispatch data holding a key that reaches a prototype, naming where', () => {
    const job = new AddToBufferJob('x') as AddToBufferJob & { meta?: unknown };
    job.meta = { list: [{ constructor: 'sneaky' }] };
    expect(() => encodePayload(job, {})).toThrow(
      'Job AddToBufferJob cannot be queued: it holds the forbidden key [constructor] at AddToBufferJob.meta.list[0].constructor.',
    );
  });
});

describe('parsePayload and restoreJob', () => {
  it('round-trips a job without running its constructor', () => {
    const payload = encodePayload(new StrictConstructorJob({ items: [2, 3] }), {});
    const restored = restoreJob(parsePayload(JSON.stringify(payload)));
    expect(restored).toBeInstanceOf(StrictConstructorJob);
    expect((restored as StrictConstructorJob).total).toBe(5);
  });

  it('refuses a uuid that is not one, and takes any uuid in either case', () => {
    const withUuid = (uuid: string) =>
      JSON.stringify({ uuid, job: 'errand:CallQueuedHandler@call', data: { commandName: 'A', command: {} } });
    for (const uuid of [
      'u',
      'mail ',
      '2b6c3c1e-8d0f-4c1e-9a77-4f1f3c1f2a1\u00e4',
      ' 2b6c3c1e-8d0f-4c1e-9a77-4f1f3c1f2a1',
      '2b6c3c1e-8d0f-4c1e-9a77-4f1f3c1f2a1\ud800',
      '2b6c3c1e8d0f4c1e9a774f1f3c1f2a10',
    ]) {
      expect(() => parsePayload(withUuid(uuid))).toThrow(
        `The payload's uuid ${JSON.stringify(uuid)} is not a uuid: 8-4-4-4-12 hex digits (docs/payload.schema.json).`,
      );
    }
    expect(parsePayload(withUuid('2b6c3c1e-8d0f-4c1e-9a77-4f1f3c1f2a10')).uuid).toBe(
      '2b6c3c1e-8d0f-4c1e-9a77-4f1f3c1f2a10',
    );
    expect(parsePayload(withUuid('2B6C3C1E-8D0F-4C1E-9A77-4F1F3C1F2A10')).uuid).toBe(
      '2B6C3C1E-8D0F-4C1E-9A77-4F1F3C1F2A10',
    );
  });

  it.each([
    ['{oops', 'The payload is not valid JSON'],
    ['[1]', 'The payload is not a JSON object.'],
    ['{"data":{}}', 'The payload has no uuid.'],
    ['{"uuid":"00000000-0000-4000-8000-000000000001","data":{"command":{}}}', 'The payload has no data.commandName.'],
    [
      '{"uuid":"00000000-0000-4000-8000-000000000001","data":{"commandName":"A"}}',
      'The payload of A has no data.command object.',
    ],
    [
      '{"uuid":"00000000-0000-4000-8000-000000000001","maxTries":"3","data":{"commandName":"A","command":{}}}',
      'The payload of A has a non-numeric maxTries.',
    ],
    [
      '{"uuid":"00000000-0000-4000-8000-000000000001","backoff":"1;2","data":{"commandName":"A","command":{}}}',
      'The payload of A has an unreadable backoff "1;2".',
    ],
    // The schema's bounds (docs/payload.schema.json): -1 is not "unlimited", 0 is.
    [
      '{"uuid":"00000000-0000-4000-8000-000000000001","maxTries":-1,"data":{"commandName":"A","command":{}}}',
      'The payload of A has a maxTries that must be a whole number from 0 to 2147483647, got -1.',
    ],
    [
      '{"uuid":"00000000-0000-4000-8000-000000000001","maxTries":1.5,"data":{"commandName":"A","command":{}}}',
      'The payload of A has a maxTries that must be a whole number from 0 to 2147483647, got 1.5.',
    ],
    [
      '{"uuid":"00000000-0000-4000-8000-000000000001","maxExceptions":2147483648,"data":{"commandName":"A","command":{}}}',
      'has a maxExceptions that must be a whole number from 0 to 2147483647, got 2147483648.',
    ],
    [
      '{"uuid":"00000000-0000-4000-8000-000000000001","timeout":-5,"data":{"commandName":"A","command":{}}}',
      'has a timeout that must be a whole number of seconds from 0 to 2147483647, got -5.',
    ],
    [
      '{"uuid":"00000000-0000-4000-8000-000000000001","delay":1e12,"data":{"commandName":"A","command":{}}}',
      'has a delay that must be a number of seconds from 0 to 2147483647, got 1000000000000.',
    ],
    [
      '{"uuid":"00000000-0000-4000-8000-000000000001","backoff":"5,100000000000000000000","data":{"commandName":"A","command":{}}}',
      'The payload of A has a backoff step over 2147483647 seconds: "5,100000000000000000000".',
    ],
  ])('rejects %s with a reason', (raw, reason) => {
    expect(() => parsePayload(raw)).toThrow(reason);
  });

  it('refuses names that are not registered and handlers that are not errand’s', () => {
    const unknown = parsePayload(
      '{"uuid":"00000000-0000-4000-8000-000000000001","job":"errand:CallQueuedHandler@call","data":{"commandName":"Nope","command":{}}}',
    );
    expect(() => restoreJob(unknown)).toThrow('Unknown job [Nope]: no class is registered under that name.');
    const foreign = parsePayload(
      '{"uuid":"00000000-0000-4000-8000-000000000001","job":"Illuminate\\\\Queue\\\\CallQueuedHandler@call","data":{"commandName":"AddToBufferJob","command":{}}}',
    );
    expect(() => restoreJob(foreign)).toThrow('The payload names handler [Illuminate\\Queue\\CallQueuedHandler@call]');
  });
});
