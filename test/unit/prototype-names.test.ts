import { describe, expect, it } from 'vitest';

import { callbackRef } from '../../src/bus/callbacks.js';
import { ownProperty } from '../../src/config/own-property.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { jobRegistry } from '../../src/job/job-registry.js';
import { listenerRegistry } from '../../src/listeners/listener-registry.js';
import { middlewareRegistry } from '../../src/middleware/middleware-registry.js';
import { RateLimiter } from '../../src/middleware/rate-limiter.js';
import { modelRegistry } from '../../src/models/model-registry.js';
import { resolvePayloadJob } from '../../src/payload/decode-payload.js';
import type { JobPayload } from '../../src/payload/job-payload.js';
import { QueueManager } from '../../src/runtime/queue-manager.js';

// Names a plain object answers from Object.prototype: each must be an unknown name like any other.
const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

describe('names that are Object.prototype members', () => {
  it('ownProperty sees only own properties', () => {
    const record: Record<string, number> = { a: 1 };
    for (const name of PROTOTYPE_NAMES) expect(ownProperty(record, name)).toBeUndefined();
    expect(ownProperty(record, 'a')).toBe(1);
    expect(ownProperty(undefined, 'a')).toBeUndefined();
  });

  it.each(PROTOTYPE_NAMES)('the queue manager refuses connection [%s] as not defined', (name) => {
    const manager = new QueueManager(resolveConfig(undefined, { baseDir: '/app', env: {} }), async () => undefined);
    const message = `Queue connection [${name}] is not defined. Defined connections: database, sync, null.`;
    expect(() => manager.connection(name)).toThrow(message);
    expect(() => manager.configOf(name)).toThrow(message);
    expect(() => manager.worker(name)).toThrow(message);
  });

  it.each(PROTOTYPE_NAMES)('the configuration refuses [%s] wherever it names a connection or a client', (name) => {
    expect(() => resolveConfig({ default: name }, { env: {} })).toThrow(
      `Queue connection [${name}] named by \`default\` is not defined. Defined connections: database, sync, null.`,
    );
    expect(() => resolveConfig(undefined, { env: { QUEUE_CONNECTION: name } })).toThrow(
      `Queue connection [${name}] named by QUEUE_CONNECTION is not defined.`,
    );
    expect(() => resolveConfig({ failed: { driver: 'database', connection: name } } as never, { env: {} })).toThrow(
      `failed.connection names [${name}], which is not a database queue connection.`,
    );
    for (const option of ['locks', 'rateLimits', 'batching'] as const) {
      expect(() => resolveConfig({ [option]: { connection: name } }, { env: {} })).toThrow(
        `${option}.connection names [${name}], which is not defined. Defined connections: database, sync, null.`,
      );
    }
    expect(() =>
      resolveConfig({ connections: { q: { driver: 'database', client: name as never } } }, { env: {} }),
    ).toThrow(`Queue connection [q] has unsupported client [${name}]; use one of better-sqlite3, mysql2, pg.`);
  });

  it('a connection the configuration names `constructor` is an ordinary connection', () => {
    const config = resolveConfig(
      { default: 'constructor', connections: { constructor: { driver: 'sync' } } } as never,
      { env: {} },
    );
    const manager = new QueueManager(config, async () => undefined);
    expect(manager.connection('constructor').connectionName).toBe('constructor');
    expect(() => manager.connection('toString')).toThrow(
      'Queue connection [toString] is not defined. Defined connections: constructor.',
    );
  });

  it.each(PROTOTYPE_NAMES)('every registry answers [%s] as unknown', async (name) => {
    expect(jobRegistry.byName(name)).toBeUndefined();
    expect(middlewareRegistry.byName(name)).toBeUndefined();
    expect(modelRegistry.byName(name)).toBeUndefined();
    expect(listenerRegistry.byName(name)).toBeUndefined();
    expect(listenerRegistry.eventByName(name)).toBeUndefined();
    expect(RateLimiter.limiter(name)).toBeUndefined();
    await expect(callbackRef(name, 'Bus.chain(…).catch()')).rejects.toThrow(`no callback is registered as '${name}'`);
    const payload = {
      uuid: '2b6c3c1e-8d0f-4c1e-9a77-4f1f3c1f2a10',
      job: 'errand:CallQueuedHandler@call',
      data: { commandName: name, command: {} },
    } as unknown as JobPayload;
    expect(() => resolvePayloadJob(payload)).toThrow(`Unknown job [${name}]: no class is registered under that name.`);
  });
});
