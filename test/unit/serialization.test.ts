import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { container } from 'tsyringe';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { BindingResolutionError } from '../../src/errors/binding-resolution-error.js';
import { ConfigError } from '../../src/errors/config-error.js';
import { PayloadError } from '../../src/errors/payload-error.js';
import { resolveHandleArguments } from '../../src/execution/resolve-handle-arguments.js';
import { decodeJob, parsePayload } from '../../src/payload/decode-payload.js';
import { encodePayload, registeredJobOf } from '../../src/payload/encode-payload.js';
import type { JobPayload } from '../../src/payload/job-payload.js';
import { generateKey, isSealed, Keyring, parseKey } from '../../src/payload/keyring.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { serializeAndRestore } from '../../src/testing/serialize-and-restore.js';
import {
  Address,
  GeoPoint,
  LineItem,
  SerGreeter,
  SerHolderJob,
  SerMissingBindingJob,
  SerMissingTokenJob,
  SerOtherSealedJob,
  SerPlainNoteJob,
  SerSealedNoteJob,
  SerServiceJob,
  SerTypedOrderJob,
} from '../fixtures/jobs/serialization-jobs.js';
import { runCli } from '../helpers/run-cli.js';

const KEY_A = generateKey();
const KEY_B = generateKey();
const KEY_C = generateKey();
const ringOf = (current?: string, previous: string[] = []) =>
  new Keyring(
    current === undefined ? undefined : parseKey(current, 'test key'),
    previous.map((k) => parseKey(k, 'test previous key')),
  );

/** Encodes as dispatch does (every dispatch-time check), without a queue. */
const encode = (job: object, keyring?: Keyring): JobPayload =>
  encodePayload(job, registeredJobOf(job).options, { keyring });

/** The error encoding `job` throws; fails the test when nothing is thrown. */
function refusalOf(job: object): Error {
  try {
    encode(job);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`expected ${job.constructor.name} to be refused at dispatch, but it encoded`);
}

const holder = (value: unknown, meta: unknown = {}) => new SerHolderJob(value, meta);
const HOLDER = 'Job SerHolderJob cannot be queued: property';

/** Changes one character in the middle of the sealed text (a position that carries all 6 bits). */
function tamper(sealed: string, at = 30): string {
  const index = 'errand:v1:'.length + at;
  const swapped = sealed[index] === 'A' ? 'B' : 'A';
  return sealed.slice(0, index) + swapped + sealed.slice(index + 1);
}

describe('dispatch-time round-trip checks: refusals name the job, the property path and what it holds', () => {
  const cases: Array<[string, () => object, string]> = [
    [
      'a function, nested in an array',
      () => holder(1, { list: [1, () => 2] }),
      `${HOLDER} meta.list[1] holds a function; only data can be queued (register behaviour by name and store the name).`,
    ],
    ['a symbol', () => holder(Symbol('s')), `${HOLDER} value holds a symbol, which JSON cannot carry.`],
    [
      'a bigint',
      () => holder({ amount: 10n }),
      `${HOLDER} value.amount holds a bigint, which JSON cannot carry; store it as a string.`,
    ],
    [
      'NaN',
      () => holder(1, { stats: { ratio: NaN } }),
      `${HOLDER} meta.stats.ratio holds NaN, which JSON turns into null.`,
    ],
    ['Infinity', () => holder(Infinity), `${HOLDER} value holds Infinity, which JSON turns into null.`],
    ['-Infinity', () => holder([0, -Infinity]), `${HOLDER} value[1] holds -Infinity, which JSON turns into null.`],
    [
      'a circular structure',
      () => {
        const node: Record<string, unknown> = { name: 'root' };
        node.child = { parent: node };
        return holder(node);
      },
      `${HOLDER} value.child.parent holds a circular reference (it contains itself).`,
    ],
    [
      'a reference back to the job itself',
      () => {
        const job = holder(1);
        job.meta = { owner: job };
        return job;
      },
      `${HOLDER} meta.owner holds a circular reference (it contains itself).`,
    ],
    [
      'an EventEmitter',
      () => holder({ emitter: new EventEmitter() }),
      `${HOLDER} value.emitter holds a EventEmitter, a live connection or stream.`,
    ],
    [
      'a stream',
      () => holder(1, { list: [Readable.from(['x'])] }),
      `${HOLDER} meta.list[0] holds a Readable, a live connection or stream.`,
    ],
    ['a Promise', () => holder(Promise.resolve(1)), `${HOLDER} value holds a Promise, a pending computation.`],
    ['a WeakMap', () => holder({ cache: new WeakMap() }), `${HOLDER} value.cache holds a WeakMap, a weak collection.`],
    ['a WeakSet', () => holder(new WeakSet()), `${HOLDER} value holds a WeakSet, a weak collection.`],
    [
      'a Buffer',
      () => holder({ file: Buffer.from('abc') }),
      `${HOLDER} value.file holds a Buffer, a binary buffer (store it as a base64 string).`,
    ],
    [
      'a typed array',
      () => holder(new Uint8Array(4)),
      `${HOLDER} value holds a Uint8Array, a binary buffer (store it as a base64 string).`,
    ],
    [
      'an ArrayBuffer',
      () => holder(new ArrayBuffer(8)),
      `${HOLDER} value holds a ArrayBuffer, a binary buffer (store it as a base64 string).`,
    ],
    ['an invalid Date', () => holder(new Date('nope')), `${HOLDER} value holds an invalid Date.`],
    [
      'a Date without @Type',
      () => holder(new Date('2024-01-02T03:04:05Z')),
      `${HOLDER} value holds a Date that would come back as string; declare it with @Type(() => Date).`,
    ],
    [
      'a Date without @Type, nested in plain data',
      () => holder(1, { list: [{ at: new Date() }] }),
      `${HOLDER} meta.list[0].at holds a Date that would come back as string; declare it with @Type(() => Date).`,
    ],
    [
      'a class instance without @Type',
      () => holder(new Address('1 Main St', 'Springfield')),
      `${HOLDER} value holds an instance of Address that would come back as Object; declare the property with @Type(() => Address).`,
    ],
    [
      'a class instance without @Type, in an array',
      () => holder(1, { list: [new LineItem('a', 1, 2)] }),
      `${HOLDER} meta.list[0] holds an instance of LineItem that would come back as Object; declare the property with @Type(() => LineItem).`,
    ],
    [
      'a symbol inside a @Type-declared class',
      () => {
        const address = new Address('1 Main St', 'Springfield');
        (address as unknown as Record<string, unknown>).street = Symbol('street');
        return new SerTypedOrderJob(new Date(), address, []);
      },
      'Job SerTypedOrderJob cannot be queued: property address.street holds a symbol, which JSON cannot carry.',
    ],
    [
      'an undeclared Date inside a @Type-declared array element',
      () => {
        const items = [new LineItem('a', 1, 2), new LineItem('b', 2, 3)];
        (items[1] as unknown as Record<string, unknown>).addedAt = new Date();
        return new SerTypedOrderJob(new Date(), new Address('s', 'c'), items);
      },
      'Job SerTypedOrderJob cannot be queued: property items[1].addedAt holds a Date that would come back as string; declare it with @Type(() => Date).',
    ],
    [
      'an undeclared class inside a @Type-declared class',
      () => {
        const address = new Address('s', 'c');
        (address as unknown as Record<string, unknown>).owner = new LineItem('x', 1, 1);
        return new SerTypedOrderJob(new Date(), address, []);
      },
      'Job SerTypedOrderJob cannot be queued: property address.owner holds an instance of LineItem that would come back as Object; declare the property with @Type(() => LineItem).',
    ],
  ];

  it.each(cases)('refuses %s', (_label, make, message) => {
    const error = refusalOf(make());
    expect(error).toBeInstanceOf(PayloadError);
    expect(error.message).toBe(message);
  });

  it('refuses a net.Socket, naming the property', () => {
    const socket = new net.Socket();
    try {
      const error = refusalOf(holder(1, { connection: socket }));
      expect(error).toBeInstanceOf(PayloadError);
      expect(error.message).toBe(`${HOLDER} meta.connection holds a Socket, a live connection or stream.`);
    } finally {
      socket.destroy();
    }
  });

  it.each([
    ['__proto__', () => holder(JSON.parse('{"a":{"__proto__":{"polluted":true}}}')), 'SerHolderJob.value.a.__proto__'],
    ['constructor', () => holder(1, { list: [{ constructor: 'x' }] }), 'SerHolderJob.meta.list[0].constructor'],
    [
      'prototype',
      () => {
        const job = holder(1);
        Object.defineProperty(job, 'prototype', { value: { x: 1 }, enumerable: true });
        return job;
      },
      'SerHolderJob.prototype',
    ],
  ])('refuses the forbidden key %s, naming where it sits', (key, make, where) => {
    const error = refusalOf(make());
    expect(error).toBeInstanceOf(PayloadError);
    expect(error.message).toBe(`Job SerHolderJob cannot be queued: it holds the forbidden key [${key}] at ${where}.`);
  });

  it('refuses through dispatch() too, before anything is pushed', async () => {
    await boot({ default: 'nothing', connections: { nothing: { driver: 'null' } } });
    try {
      await expect(SerHolderJob.dispatch(() => 1)).rejects.toThrow(`${HOLDER} value holds a function`);
      await expect(SerHolderJob.dispatch({ ok: true }, { also: [1, 'two', null] })).resolves.toBe('');
    } finally {
      await shutdown();
    }
  });

  it('accepts the near misses: shared (non-circular) references, null, finite numbers, keys that merely contain "constructor"', () => {
    const shared = { x: 1 };
    const payload = encode(
      holder(
        { a: shared, b: shared, n: null, zero: -0, big: Number.MAX_SAFE_INTEGER },
        { constructorName: 'Foo', protoType: 1 },
      ),
    );
    expect(payload.data.command).toEqual({
      value: { a: { x: 1 }, b: { x: 1 }, n: null, zero: -0, big: Number.MAX_SAFE_INTEGER },
      meta: { constructorName: 'Foo', protoType: 1 },
    });
  });
});

describe('typed data round-trips through the payload', () => {
  const makeOrder = () => {
    const address = new Address('1 Main St', 'Springfield');
    address.geo = new GeoPoint(39.8, -89.6);
    address.since = new Date('2001-02-03T04:05:06.789Z');
    return new SerTypedOrderJob(
      new Date('2024-05-06T07:08:09.010Z'),
      address,
      [new LineItem('a', 2, 3), new LineItem('b', 1, 10)],
      {
        note: 'gift',
        tags: ['x', 'y'],
        nested: { deep: { list: [1, { two: 2 }], flag: false, nothing: null } },
      },
    );
  };

  it('stores Dates as ISO strings and nested classes as plain JSON', () => {
    const payload = JSON.parse(JSON.stringify(encode(makeOrder()))) as JobPayload;
    expect(payload.data.command).toEqual({
      placedAt: '2024-05-06T07:08:09.010Z',
      address: {
        street: '1 Main St',
        city: 'Springfield',
        geo: { lat: 39.8, lng: -89.6 },
        since: '2001-02-03T04:05:06.789Z',
      },
      items: [
        { sku: 'a', qty: 2, price: 3 },
        { sku: 'b', qty: 1, price: 10 },
      ],
      meta: { note: 'gift', tags: ['x', 'y'], nested: { deep: { list: [1, { two: 2 }], flag: false, nothing: null } } },
    });
  });

  it('serializeAndRestore gives back a separate copy with Dates, nested classes and arrays of classes typed again', async () => {
    const original = makeOrder();
    const copy = await serializeAndRestore(original);
    expect(copy).not.toBe(original);
    expect(copy).toBeInstanceOf(SerTypedOrderJob);

    expect(copy.placedAt).toBeInstanceOf(Date);
    expect(copy.placedAt.getTime()).toBe(Date.parse('2024-05-06T07:08:09.010Z'));

    expect(copy.address).toBeInstanceOf(Address);
    expect(copy.address).not.toBe(original.address);
    expect(copy.address.label()).toBe('1 Main St, Springfield');
    expect(copy.address.geo).toBeInstanceOf(GeoPoint);
    expect(copy.address.geo!.describe()).toBe('39.8,-89.6');
    expect(copy.address.since).toBeInstanceOf(Date);
    expect(copy.address.since!.toISOString()).toBe('2001-02-03T04:05:06.789Z');

    expect(copy.items).toHaveLength(2);
    for (const item of copy.items) expect(item).toBeInstanceOf(LineItem);
    expect(copy.items.map((item) => item.total())).toEqual([6, 10]);

    expect(copy.meta).toEqual(original.meta);
    expect(Object.getPrototypeOf(copy.meta)).toBe(Object.prototype);

    // A copy, not the same objects: changing the original afterwards does not reach it.
    original.items[0]!.qty = 100;
    (original.meta.nested as { deep: { flag: boolean } }).deep.flag = true;
    expect(copy.items[0]!.qty).toBe(2);
    expect((copy.meta.nested as { deep: { flag: boolean } }).deep.flag).toBe(false);
  });

  it('serializeAndRestore keeps plain nested data as plain data', async () => {
    const copy = await serializeAndRestore(
      holder({ a: [1, [2, [3]], { b: 'c' }], empty: {}, list: [] }, [true, null, 'x']),
    );
    expect(copy).toBeInstanceOf(SerHolderJob);
    expect(copy.value).toEqual({ a: [1, [2, [3]], { b: 'c' }], empty: {}, list: [] });
    expect(copy.meta).toEqual([true, null, 'x']);
  });

  it('serializeAndRestore refuses what dispatch refuses', async () => {
    await expect(serializeAndRestore(holder(new Address('a', 'b')))).rejects.toThrow(PayloadError);
    await expect(serializeAndRestore(holder(new Address('a', 'b')))).rejects.toThrow(
      `${HOLDER} value holds an instance of Address that would come back as Object`,
    );
  });

  it('serializeAndRestore seals and opens an encrypted job with the keyring it is given', async () => {
    const copy = await serializeAndRestore(new SerSealedNoteJob('s3cret', new Date('2020-01-01T00:00:00Z')), {
      keyring: ringOf(KEY_A),
    });
    expect(copy).toBeInstanceOf(SerSealedNoteJob);
    expect(copy.secret).toBe('s3cret');
    expect(copy.writtenAt).toBeInstanceOf(Date);
    expect(copy.writtenAt.toISOString()).toBe('2020-01-01T00:00:00.000Z');
  });
});

describe('encrypted jobs: sealing at dispatch and opening on the worker', () => {
  afterAll(() => shutdown());

  it('seals {command, models} into data.command, bound to the job name, with no plaintext left', () => {
    const ring = ringOf(KEY_A);
    const payload = encode(new SerSealedNoteJob('the-launch-code', new Date('2020-01-01T00:00:00Z')), ring);
    expect(Object.keys(payload.data).sort()).toEqual(['command', 'commandName']);
    expect(payload.data.commandName).toBe('SerSealedNoteJob');
    expect(typeof payload.data.command).toBe('string');
    expect((payload.data.command as string).startsWith('errand:v1:')).toBe(true);
    const text = JSON.stringify(payload);
    expect(text).not.toContain('the-launch-code');
    expect(text).not.toContain(Buffer.from('the-launch-code').toString('base64'));
    expect(text).not.toContain('2020-01-01');

    const opened = ring.open(payload.data.command as string, 'SerSealedNoteJob');
    expect(JSON.parse(opened!)).toEqual({
      command: { secret: 'the-launch-code', writtenAt: '2020-01-01T00:00:00.000Z' },
    });
    // The job name is authenticated data: the same text does not open as another job's.
    expect(ring.open(payload.data.command as string, 'SerOtherSealedJob')).toBeUndefined();
  });

  it('a job without encrypted: true stays plaintext even when a key is configured', () => {
    const payload = encode(new SerPlainNoteJob('visible'), ringOf(KEY_A));
    expect(payload.data.command).toEqual({ label: 'visible' });
  });

  it('refuses to dispatch an encrypted job without a key', () => {
    for (const ring of [undefined, ringOf(undefined, [KEY_A])]) {
      expect(() => encode(new SerSealedNoteJob('x', new Date()), ring)).toThrow(ConfigError);
      expect(() => encode(new SerSealedNoteJob('x', new Date()), ring)).toThrow(
        'Job SerSealedNoteJob is encrypted but no key is configured: set ERRAND_KEY (or `key` in the config); `errand key:generate` prints one.',
      );
    }
  });

  it('decodes a sealed payload with the current key, and after rotation with a previous key', () => {
    const sealed = parsePayload(
      JSON.stringify(encode(new SerSealedNoteJob('rotating', new Date('2021-06-01T00:00:00Z')), ringOf(KEY_A))),
    );
    for (const ring of [
      ringOf(KEY_A),
      ringOf(KEY_B, [KEY_A]),
      ringOf(KEY_B, [KEY_C, KEY_A]),
      ringOf(undefined, [KEY_A]),
    ]) {
      const job = decodeJob(sealed, ring).instance as SerSealedNoteJob;
      expect(job).toBeInstanceOf(SerSealedNoteJob);
      expect(job.secret).toBe('rotating');
      expect(job.writtenAt).toBeInstanceOf(Date);
    }
  });

  it('refuses sealed data under an unknown key, tampered, truncated, or moved to another job', () => {
    const payload = parsePayload(JSON.stringify(encode(new SerSealedNoteJob('guarded', new Date()), ringOf(KEY_A))));
    const sealed = payload.data.command as string;
    const refused =
      'Job SerSealedNoteJob: its encrypted data could not be opened: it was tampered with, or sealed under a key that is neither the current key nor a previous one. Nothing was run.';
    const withCommand = (command: string, commandName = 'SerSealedNoteJob'): JobPayload => ({
      ...payload,
      data: { commandName, command },
    });

    expect(() => decodeJob(payload, ringOf(KEY_B))).toThrow(refused);
    expect(() => decodeJob(payload, ringOf(KEY_B, [KEY_C]))).toThrow(refused);
    expect(() => decodeJob(withCommand(tamper(sealed)), ringOf(KEY_A))).toThrow(refused);
    expect(() => decodeJob(withCommand(sealed.slice(0, -8)), ringOf(KEY_A))).toThrow(refused);
    expect(() => decodeJob(withCommand('errand:v1:AAAA'), ringOf(KEY_A))).toThrow(refused);
    expect(() => decodeJob(withCommand(sealed, 'SerOtherSealedJob'), ringOf(KEY_A))).toThrow(
      'Job SerOtherSealedJob: its encrypted data could not be opened: it was tampered with, or sealed under a key that is neither the current key nor a previous one. Nothing was run.',
    );
    // That job's own sealed data opens fine under its own name.
    const other = parsePayload(JSON.stringify(encode(new SerOtherSealedJob('its own'), ringOf(KEY_A))));
    expect((decodeJob(other, ringOf(KEY_A)).instance as SerOtherSealedJob).secret).toBe('its own');
    expect(() => decodeJob(payload, undefined)).toThrow(
      'Job SerSealedNoteJob: its encrypted data could not be opened: no key is configured (ERRAND_KEY). Nothing was run.',
    );
    expect(() => decodeJob(payload, ringOf())).toThrow(PayloadError);
    // The untouched payload still opens: the refusals above come from the changes.
    expect((decodeJob(withCommand(sealed), ringOf(KEY_A)).instance as SerSealedNoteJob).secret).toBe('guarded');
  });

  it('refuses a plaintext payload for an encrypted job, even when a key is configured', () => {
    const plain = parsePayload(
      JSON.stringify({
        ...encode(new SerPlainNoteJob('p')),
        displayName: 'SerSealedNoteJob',
        data: { commandName: 'SerSealedNoteJob', command: { secret: 'forged' } },
      }),
    );
    for (const ring of [ringOf(KEY_A), undefined]) {
      expect(() => decodeJob(plain, ring)).toThrow(PayloadError);
      expect(() => decodeJob(plain, ring)).toThrow(
        'Job SerSealedNoteJob is encrypted, but this payload holds its data in plaintext: refused, nothing was run.',
      );
    }
  });

  it('a sealed payload whose opened data is not a command object is refused', () => {
    const ring = ringOf(KEY_A);
    const payload = parsePayload(JSON.stringify(encode(new SerSealedNoteJob('x', new Date()), ring)));
    const forge = (plaintext: string): JobPayload => ({
      ...payload,
      data: { commandName: 'SerSealedNoteJob', command: ring.seal(plaintext, 'SerSealedNoteJob') },
    });
    expect(() => decodeJob(forge('not json'), ring)).toThrow(
      'Job SerSealedNoteJob: its encrypted data is not JSON. Nothing was run.',
    );
    expect(() => decodeJob(forge('{"command":[1]}'), ring)).toThrow(
      'Job SerSealedNoteJob: its encrypted data holds no command object.',
    );
    expect(() => decodeJob(forge('{"command":{"a":{"__proto__":{"x":1}}}}'), ring)).toThrow(
      'Job SerSealedNoteJob: its encrypted data holds the forbidden key [__proto__] at sealed data.command.a.__proto__.',
    );
  });

  it('serializeAndRestore uses the booted key for an encrypted job', async () => {
    await boot({ default: 'nothing', connections: { nothing: { driver: 'null' } }, key: KEY_A });
    const copy = await serializeAndRestore(new SerSealedNoteJob('booted', new Date('2022-02-02T00:00:00Z')));
    expect(copy.secret).toBe('booted');
    expect(copy.writtenAt.toISOString()).toBe('2022-02-02T00:00:00.000Z');
  });

  it('dispatching an encrypted job with no key configured is refused with ConfigError', async () => {
    const saved = process.env.ERRAND_KEY;
    delete process.env.ERRAND_KEY;
    try {
      await boot({ default: 'nothing', connections: { nothing: { driver: 'null' } } });
      const dispatched = SerSealedNoteJob.dispatch('nope', new Date());
      await expect(dispatched).rejects.toThrow(ConfigError);
      await expect(dispatched).rejects.toThrow('Job SerSealedNoteJob is encrypted but no key is configured');
      await expect(serializeAndRestore(new SerSealedNoteJob('nope', new Date()))).rejects.toThrow(
        'Job SerSealedNoteJob is encrypted but no key is configured',
      );
      // The same runtime queues unencrypted jobs happily.
      await expect(SerPlainNoteJob.dispatch('fine')).resolves.toBe('');
    } finally {
      if (saved !== undefined) process.env.ERRAND_KEY = saved;
    }
  });
});

describe('Keyring', () => {
  it('seals AES-GCM text under the errand:v1: prefix, fresh each time, and opens it', () => {
    const ring = ringOf(KEY_A);
    expect(ring.canSeal).toBe(true);
    expect(ring.hasKeys).toBe(true);
    const one = ring.seal('hello world', 'Ctx');
    const two = ring.seal('hello world', 'Ctx');
    expect(one.startsWith('errand:v1:')).toBe(true);
    expect(isSealed(one)).toBe(true);
    expect(isSealed('hello world')).toBe(false);
    expect(isSealed({ command: 1 })).toBe(false);
    expect(one).not.toBe(two); // random IV
    expect(one).not.toContain('hello');
    expect(ring.open(one, 'Ctx')).toBe('hello world');
    expect(ring.open(two, 'Ctx')).toBe('hello world');
    // 12-byte IV + 16-byte tag + 11 bytes of text.
    expect(Buffer.from(one.slice('errand:v1:'.length), 'base64')).toHaveLength(12 + 16 + 11);
  });

  it('binds the context (the job name) into the tag', () => {
    const ring = ringOf(KEY_A);
    const sealed = ring.seal('data', 'JobA');
    expect(ring.open(sealed, 'JobA')).toBe('data');
    expect(ring.open(sealed, 'JobB')).toBeUndefined();
    expect(ring.open(sealed, 'joba')).toBeUndefined();
    expect(ring.open(sealed, '')).toBeUndefined();
  });

  it('rotation: the current key seals, previous keys still open, unknown keys do not', () => {
    const sealedA = ringOf(KEY_A).seal('from A', 'J');
    const rotated = ringOf(KEY_B, [KEY_A]);
    expect(rotated.open(sealedA, 'J')).toBe('from A');
    const sealedB = rotated.seal('from B', 'J');
    expect(ringOf(KEY_B).open(sealedB, 'J')).toBe('from B');
    expect(ringOf(KEY_A).open(sealedB, 'J')).toBeUndefined(); // sealed with the current key, not a previous one
    expect(ringOf(KEY_B).open(sealedA, 'J')).toBeUndefined();
    expect(ringOf(KEY_C, [KEY_B]).open(sealedA, 'J')).toBeUndefined();

    const openOnly = ringOf(undefined, [KEY_A]);
    expect(openOnly.canSeal).toBe(false);
    expect(openOnly.hasKeys).toBe(true);
    expect(openOnly.open(sealedA, 'J')).toBe('from A');
    expect(() => openOnly.seal('x', 'J')).toThrow(ConfigError);
    expect(() => openOnly.seal('x', 'J')).toThrow('No encryption key is configured');

    const empty = ringOf();
    expect(empty.canSeal).toBe(false);
    expect(empty.hasKeys).toBe(false);
    expect(empty.open(sealedA, 'J')).toBeUndefined();
  });

  it('refuses tampered, truncated and foreign text', () => {
    const ring = ringOf(KEY_A);
    const sealed = ring.seal('{"command":{"amount":100}}', 'J');
    expect(ring.open(sealed, 'J')).toBe('{"command":{"amount":100}}');
    for (const at of [2, 20, 30, 40]) expect(ring.open(tamper(sealed, at), 'J')).toBeUndefined(); // IV, tag and body
    expect(ring.open(sealed.slice(0, -4), 'J')).toBeUndefined();
    expect(ring.open(sealed + 'AAAA', 'J')).toBeUndefined();
    expect(ring.open('errand:v1:', 'J')).toBeUndefined();
    expect(ring.open('errand:v1:AAAA', 'J')).toBeUndefined();
    expect(ring.open(sealed.replace('errand:v1:', 'errand:v2:'), 'J')).toBeUndefined();
    expect(ring.open(sealed.slice('errand:v1:'.length), 'J')).toBeUndefined();
  });

  it('generateKey() gives distinct base64: keys of 32 bytes', () => {
    const keys = new Set(Array.from({ length: 5 }, () => generateKey()));
    expect(keys.size).toBe(5);
    for (const key of keys) {
      expect(key).toMatch(/^base64:[A-Za-z0-9+/]{43}=$/);
      expect(parseKey(key, 'k')).toHaveLength(32);
    }
  });
});

describe('parseKey', () => {
  const raw = Buffer.alloc(32, 7);

  it('accepts base64: and plain base64 (and url-safe) forms of 32 bytes, trimming spaces', () => {
    expect(parseKey(`base64:${raw.toString('base64')}`, 'k').equals(raw)).toBe(true);
    expect(parseKey(raw.toString('base64'), 'k').equals(raw)).toBe(true);
    expect(parseKey(`  base64:${raw.toString('base64')}\n`, 'k').equals(raw)).toBe(true);
    const urlSafe = Buffer.alloc(32, 0xfb);
    expect(parseKey(urlSafe.toString('base64url'), 'k').equals(urlSafe)).toBe(true);
  });

  it.each([
    ['16 bytes', `base64:${Buffer.alloc(16, 1).toString('base64')}`, 16],
    ['33 bytes', `base64:${Buffer.alloc(33, 1).toString('base64')}`, 33],
    ['characters outside base64', 'base64:not*a*key!', 0],
    ['a passphrase', 'correct horse battery staple', 0],
    ['the prefix alone', 'base64:', 0],
  ])('refuses %s, naming the option and the decoded length, never the value', (_label, value, length) => {
    let error: Error | undefined;
    try {
      parseKey(value, '`key`');
    } catch (caught) {
      error = caught as Error;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toBe(
      `\`key\` must be 32 bytes written as base64:… (it decodes to ${length} bytes); generate one with \`errand key:generate\`.`,
    );
    if (value.length > 8) expect(error!.message).not.toContain(value.replace(/^base64:/, ''));
  });

  it.each([[''], ['   '], [undefined], [42], [null]])('refuses a missing or non-string key (%j)', (value) => {
    expect(() => parseKey(value, 'ERRAND_KEY')).toThrow(
      'ERRAND_KEY must be a key written as base64:… (32 bytes); generate one with `errand key:generate`.',
    );
  });
});

describe('config: key and previousKeys', () => {
  const sealWith = (key: string) => ringOf(key).seal('payload', 'J');

  it('reads `key` and `previousKeys` from the config', () => {
    const { keyring } = resolveConfig({ key: KEY_B, previousKeys: [KEY_A] }, { env: {} });
    expect(keyring.canSeal).toBe(true);
    expect(keyring.open(sealWith(KEY_A), 'J')).toBe('payload');
    expect(keyring.open(sealWith(KEY_B), 'J')).toBe('payload');
    expect(keyring.open(sealWith(KEY_C), 'J')).toBeUndefined();
    expect(ringOf(KEY_B).open(keyring.seal('new', 'J'), 'J')).toBe('new');
  });

  it('reads ERRAND_KEY and the comma-separated ERRAND_PREVIOUS_KEYS from the environment', () => {
    const { keyring } = resolveConfig(
      {},
      { env: { ERRAND_KEY: ` ${KEY_C} `, ERRAND_PREVIOUS_KEYS: ` ${KEY_A} ,, ${KEY_B},` } },
    );
    expect(keyring.canSeal).toBe(true);
    for (const key of [KEY_A, KEY_B, KEY_C]) expect(keyring.open(sealWith(key), 'J')).toBe('payload');
    expect(ringOf(KEY_C).open(keyring.seal('new', 'J'), 'J')).toBe('new');
  });

  it('the config wins over the environment', () => {
    const { keyring } = resolveConfig(
      { key: KEY_A, previousKeys: [] },
      { env: { ERRAND_KEY: KEY_B, ERRAND_PREVIOUS_KEYS: KEY_C } },
    );
    expect(keyring.open(sealWith(KEY_A), 'J')).toBe('payload');
    expect(keyring.open(sealWith(KEY_B), 'J')).toBeUndefined();
    expect(keyring.open(sealWith(KEY_C), 'J')).toBeUndefined();
  });

  it('no key anywhere (or a blank ERRAND_KEY) leaves the keyring empty, not an error', () => {
    for (const env of [{}, { ERRAND_KEY: '   ', ERRAND_PREVIOUS_KEYS: ' , ' }]) {
      const { keyring } = resolveConfig({}, { env });
      expect(keyring.canSeal).toBe(false);
      expect(keyring.hasKeys).toBe(false);
    }
    const openOnly = resolveConfig({}, { env: { ERRAND_PREVIOUS_KEYS: KEY_A } }).keyring;
    expect(openOnly.canSeal).toBe(false);
    expect(openOnly.open(sealWith(KEY_A), 'J')).toBe('payload');
  });

  it('names the option at fault: ERRAND_KEY, `key`, `previousKeys[i]`, ERRAND_PREVIOUS_KEYS[i]', () => {
    const short = `base64:${Buffer.alloc(20).toString('base64')}`;
    const cases: Array<[Parameters<typeof resolveConfig>[0], NodeJS.ProcessEnv, string]> = [
      [{}, { ERRAND_KEY: short }, 'ERRAND_KEY must be 32 bytes written as base64:… (it decodes to 20 bytes)'],
      [{ key: short }, { ERRAND_KEY: KEY_A }, '`key` must be 32 bytes written as base64:… (it decodes to 20 bytes)'],
      [{ key: '' }, {}, '`key` must be a key written as base64:… (32 bytes)'],
      [
        { key: KEY_A, previousKeys: [KEY_B, `base64:${Buffer.alloc(4).toString('base64')}`] },
        {},
        '`previousKeys[1]` must be 32 bytes written as base64:… (it decodes to 4 bytes)',
      ],
      [
        { key: KEY_A },
        { ERRAND_PREVIOUS_KEYS: `${KEY_B},${short}` },
        'ERRAND_PREVIOUS_KEYS[1] must be 32 bytes written as base64:… (it decodes to 20 bytes)',
      ],
      [
        { key: KEY_A, previousKeys: KEY_B as unknown as string[] },
        {},
        '`previousKeys` must be a list of keys (leave it out to read ERRAND_PREVIOUS_KEYS, comma-separated), got a string (not shown: it may be a secret).',
      ],
    ];
    for (const [config, env, message] of cases) {
      expect(() => resolveConfig(config, { env })).toThrow(ConfigError);
      expect(() => resolveConfig(config, { env })).toThrow(message);
    }
  });

  it('names the config file when it has one', () => {
    expect(() => resolveConfig({ key: 'base64:abcd' }, { env: {}, source: '/app/errand.config.js' })).toThrow(
      '`key` in /app/errand.config.js must be 32 bytes written as base64:… (it decodes to 3 bytes); generate one with `errand key:generate`.',
    );
    expect(() =>
      resolveConfig({ key: KEY_A, previousKeys: ['x'] }, { env: {}, source: '/app/errand.config.js' }),
    ).toThrow('`previousKeys[0]` in /app/errand.config.js must be 32 bytes');
  });
});

describe('errand key:generate', () => {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'errand-keygen-'));

  it('--show prints one fresh key that parses, and nothing else', async () => {
    const first = await runCli(['key:generate', '--show'], cwd);
    const second = await runCli(['key:generate', '--show'], cwd);
    expect(first.code).toBe(0);
    expect(first.stderr).toBe('');
    const key = first.stdout.trim();
    expect(first.stdout).toBe(`${key}\n`);
    expect(key).toMatch(/^base64:[A-Za-z0-9+/]{43}=$/);
    expect(parseKey(key, 'printed key')).toHaveLength(32);
    expect(second.stdout.trim()).not.toBe(key);
    // The printed key works as a config key.
    const { keyring } = resolveConfig({}, { env: { ERRAND_KEY: key } });
    expect(keyring.open(keyring.seal('x', 'J'), 'J')).toBe('x');
  });

  it('without --show prints an ERRAND_KEY= line and the rotation hint', async () => {
    const { code, stdout } = await runCli(['key:generate'], cwd);
    expect(code).toBe(0);
    const [line, hint] = stdout.split('\n');
    expect(line).toMatch(/^ERRAND_KEY=base64:[A-Za-z0-9+/]{43}=$/);
    expect(hint).toContain('ERRAND_PREVIOUS_KEYS');
  });
});

describe('resolveHandleArguments (no queue)', () => {
  it('resolves handle() parameters by type and none for a handle() without parameters', () => {
    const args = resolveHandleArguments(new SerServiceJob('x'), 'SerServiceJob', () =>
      container.createChildContainer(),
    );
    expect(args).toHaveLength(2);
    expect(args[0]).toBeInstanceOf(SerGreeter);
    expect(resolveHandleArguments(new SerPlainNoteJob('x'), 'SerPlainNoteJob', () => container)).toEqual([]);
  });

  it('names the job, the position and the type of a parameter the container cannot build', () => {
    const scope = container.createChildContainer();
    const run = (job: object, name: string) => {
      try {
        resolveHandleArguments(job, name, () => scope);
      } catch (error) {
        return error as Error;
      }
      throw new Error('expected a BindingResolutionError');
    };
    const missing = run(new SerMissingBindingJob('m'), 'SerMissingBindingJob');
    expect(missing).toBeInstanceOf(BindingResolutionError);
    expect(missing.message).toBe(
      'SerMissingBindingJob.handle() parameter 2 (SerUnregistered) could not be resolved from the container: TypeInfo not known for "SerUnregistered" ' +
        'Register SerUnregistered at bootstrap (container.register…), or decorate it with @injectable().',
    );
    const token = run(new SerMissingTokenJob('t'), 'SerMissingTokenJob');
    expect(token).toBeInstanceOf(BindingResolutionError);
    expect(token.message).toMatch(
      /^SerMissingTokenJob\.handle\(\) parameter 1 \(SerNeedsToken\) could not be resolved from the container: /,
    );
    expect(token.message).toContain('serialization.missing-token');
    expect(token.message).toContain('Register SerNeedsToken at bootstrap');
  });
});
