import { readFileSync } from 'node:fs';

import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parseBatchOptions } from '../../src/bus/batch-options.js';
import { forgetCallback, registerCallback } from '../../src/bus/callbacks.js';
import { nextInChain } from '../../src/bus/chain-link.js';
import { orderedId } from '../../src/bus/ordered-id.js';
import { validateDelay } from '../../src/bus/validate-delay.js';
import { parsePayload } from '../../src/payload/decode-payload.js';
import type { ChainLink, JobPayload } from '../../src/payload/job-payload.js';

const base = {
  uuid: '00000000-0000-4000-8000-000000000001',
  displayName: 'StepJob',
  job: 'errand:CallQueuedHandler@call',
  maxTries: null,
  maxExceptions: null,
  failOnTimeout: false,
  backoff: null,
  timeout: null,
  retryUntil: null,
  data: { commandName: 'StepJob', command: {} },
  createdAt: 1,
  delay: null,
} satisfies JobPayload;
const link = (uuid: string, queue: string | null = null): ChainLink => ({
  connection: null,
  queue,
  delay: null,
  payload: { ...base, uuid },
});

describe('chain and batch payload keys', () => {
  it('keeps well-formed chain and batch keys through parsing', () => {
    const payload = {
      ...base,
      batchId: 'b-1',
      chained: [link('u-2')],
      chainQueue: 'q',
      chainCatchCallbacks: [{ kind: 'function', name: 'notify' }],
      callback: { batchId: 'b-1', error: { name: 'Error', message: 'x' } },
    };
    const parsed = parsePayload(JSON.stringify(payload));
    expect(parsed.batchId).toBe('b-1');
    expect(parsed.chained).toHaveLength(1);
    expect(parsed.chainQueue).toBe('q');
    expect(parsed.chainCatchCallbacks).toEqual([{ kind: 'function', name: 'notify' }]);
    expect(parsed.callback?.error?.message).toBe('x');
  });

  it('matches the published schema, which refuses a callback that is code', () => {
    const schema = JSON.parse(readFileSync(new URL('../../docs/payload.schema.json', import.meta.url), 'utf8'));
    const validate = new (Ajv2020 as unknown as typeof Ajv2020.default)({ strict: false }).compile(schema);
    const payload = {
      ...base,
      batchId: 'b-1',
      chained: [link('00000000-0000-4000-8000-000000000002', 'q')],
      chainCatchCallbacks: [
        { kind: 'job', link: link('00000000-0000-4000-8000-000000000003') },
        { kind: 'function', name: 'n' },
      ],
    };
    expect(validate(payload), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...payload, chainCatchCallbacks: [{ kind: 'closure', source: '() => 1' }] })).toBe(false);
  });

  it.each([
    [
      { batchId: 7 },
      'malformed batchId: it must be a batch id (a non-empty string of at most 36 characters, without NUL).',
    ],
    [{ chained: {} }, 'malformed chained: it must be a list.'],
    [
      { chained: [{ connection: null, queue: null, payload: {} }] },
      'chained[0]: its payload has no uuid or data.commandName.',
    ],
    [
      { chained: [{ ...link('u'), delay: -1 }] },
      'chained[0]: its delay must be a number of seconds from 0 to 2147483647, got -1.',
    ],
    [
      { chained: [{ ...link('u'), delay: 1e12 }] },
      'chained[0]: its delay must be a number of seconds from 0 to 2147483647, got 1000000000000.',
    ],
    [
      { chainCatchCallbacks: [{ kind: 'closure', source: 'function () {}' }] },
      'a callback is a job or the name of a registered function.',
    ],
    [{ callback: { error: 'boom' } }, 'malformed callback.error: it needs a name and a message.'],
    [{ chainQueue: '' }, 'malformed chainQueue: it must be a name (a non-empty string without NUL).'],
  ])('refuses %j', (extra, message) => {
    expect(() => parsePayload(JSON.stringify({ ...base, ...extra }))).toThrow(message);
  });
});

describe('chains', () => {
  it('hands the next job the rest of the chain and the chain settings, and ends after the last', () => {
    const current: JobPayload = {
      ...base,
      chainConnection: 'c',
      chainQueue: 'q',
      chainCatchCallbacks: [{ kind: 'function', name: 'n' }],
    };
    const next = nextInChain(current, [link('u-2'), link('u-3')])!;
    expect(next.payload.uuid).toBe('u-2');
    expect(next.payload.chained?.map((l) => l.payload.uuid)).toEqual(['u-3']);
    expect(next.payload.chainQueue).toBe('q');
    expect(next.payload.chainConnection).toBe('c');
    const last = nextInChain(current, [link('u-3')])!;
    expect(last.payload.chained).toBeUndefined();
    expect(nextInChain(current, [])).toBeUndefined();
  });
});

describe('batch ids and options', () => {
  it('makes time-ordered version 7 UUIDs', () => {
    const a = orderedId(1_700_000_000_000);
    const b = orderedId(1_700_000_000_001);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => orderedId())).size).toBe(1000);
  });

  it('reads stored options with every list present', () => {
    expect(parseBatchOptions(null)).toEqual({ allowFailures: false, then: [], catch: [], finally: [], progress: [] });
    expect(parseBatchOptions('{"allowFailures":true,"queue":"q"}')).toMatchObject({
      allowFailures: true,
      queue: 'q',
      then: [],
    });
  });
});

describe('registered callbacks', () => {
  it('refuses a second function under a taken name, and bad names', () => {
    const fn = () => undefined;
    registerCallback('unit-callback', fn);
    registerCallback('unit-callback', fn);
    expect(() => registerCallback('unit-callback', () => undefined)).toThrow(
      "A callback named 'unit-callback' is already registered; names must be unique.",
    );
    expect(() => registerCallback('', fn)).toThrow('the name must be a non-empty string');
    forgetCallback('unit-callback');
    registerCallback('unit-callback', () => undefined);
    forgetCallback('unit-callback');
  });
});

describe('dispatch delays (dispatch, Queue.bulk, Bus.chain().delay())', () => {
  const now = Date.UTC(2026, 0, 1);
  it.each([
    [-1, 'Job A: delay must be a number of seconds from 0 to 2147483647, got -1.'],
    [1e12, 'Job A: delay must be a number of seconds from 0 to 2147483647, got 1000000000000.'],
    [Number.NaN, 'Job A: delay must be a number of seconds from 0 to 2147483647, got NaN.'],
    [new Date(Number.NaN), 'Job A: delay must be seconds or a valid Date, got an invalid Date.'],
    [
      new Date(now + 2 ** 31 * 1000),
      'Job A: delay must be a Date at most 2147483647 seconds ahead, got 2094-01-19T03:14:08.000Z.',
    ],
  ])('refuses %s, naming the job and the bound', (delay, message) => {
    expect(() => validateDelay('Job A', delay, now)).toThrow(message);
  });

  it('accepts delays up to the bound, and any Date in the past', () => {
    for (const delay of [0, 2.5, 2592000, 2 ** 31 - 1, new Date(now + (2 ** 31 - 1) * 1000), new Date(0)])
      expect(() => validateDelay('Job A', delay, now)).not.toThrow();
  });
});
