// The push API's `api` config: secrets from the config or the environment (several at once, for
// rotation), never quoted in errors; limits with their defaults; a typo'd key named.
import { describe, expect, it } from 'vitest';

import type { ErrandConfig } from '../../src/config/config-types.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { openApiDocument } from '../../src/dashboard/openapi.js';
import { signPushBody } from '../../src/dashboard/push/index.js';

const SOURCE = 'errand.config.js';
const resolve = (api: unknown, env: NodeJS.ProcessEnv = {}) =>
  resolveConfig({ api } as ErrandConfig, { baseDir: '/app', env, source: SOURCE }).api;

describe('the api config', () => {
  it('is closed with its defaults when nothing is set', () => {
    expect(resolve(undefined)).toEqual({
      tokens: [],
      signingKeys: [],
      maxBodySize: 1024 * 1024,
      replayWindow: 300,
      idempotencyWindow: 86_400,
      jobs: undefined,
    });
  });

  it('reads ERRAND_API_TOKENS and ERRAND_API_SIGNING_KEYS (comma lists) unless the config names its own', () => {
    const env = {
      ERRAND_API_TOKENS: ' first-token-0123456789, second-token-0123456789 ,',
      ERRAND_API_SIGNING_KEYS: 'signing-key-0123456789',
    };
    expect(resolve(undefined, env)).toMatchObject({
      tokens: ['first-token-0123456789', 'second-token-0123456789'],
      signingKeys: ['signing-key-0123456789'],
    });
    expect(resolve({ tokens: ['configured-token-0123456789'] }, env).tokens).toEqual(['configured-token-0123456789']);
  });

  it('refuses a short secret by where it came from, without quoting it', () => {
    expect(() => resolve({ tokens: ['long-enough-token-0123', 'hunter2'] })).toThrow(
      '`api.tokens[1]` in errand.config.js is 7 characters; the push API needs at least 16 (`errand key:generate` prints a good one).',
    );
    expect(() => resolve(undefined, { ERRAND_API_SIGNING_KEYS: 'short' })).toThrow(
      /^ERRAND_API_SIGNING_KEYS\[0\] is 5 characters/,
    );
    expect(() => resolve({ tokens: 'hunter2-as-a-string' })).toThrow(/not shown: it may be a secret/);
    try {
      resolve({ tokens: ['hunter2'] });
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('checks the limits and names a mistyped key', () => {
    expect(() => resolve({ maxBodySize: 100 })).toThrow(
      'api.maxBodySize in errand.config.js must be a whole number of bytes ≥ 256, got 100.',
    );
    expect(() => resolve({ replayWindow: 0.5 })).toThrow(
      'api.replayWindow in errand.config.js must be a whole number of seconds ≥ 1, got 0.5.',
    );
    expect(resolve({ idempotencyWindow: 3600, maxBodySize: 4096 })).toMatchObject({
      idempotencyWindow: 3600,
      maxBodySize: 4096,
    });
    expect(() => resolve({ token: ['x'] })).toThrow(/tokens/);
  });
});

describe('signPushBody', () => {
  it('signs "<timestamp>.<body>" with HMAC-SHA256, as the PHP and Python examples in docs/http-api.md do', () => {
    // Computed apart from errand, with Python's hmac module as docs/http-api.md's Python example does:
    // hmac.new(b'signing-key-0123456789', b'1700000000.{"job":"A"}', hashlib.sha256).hexdigest()
    expect(signPushBody('signing-key-0123456789', '{"job":"A"}', 1_700_000_000)).toBe(
      'sha256=a62c5d617289bda70c04ba17405efcd3ab1dfe157d573002eb432fe3c6768c57',
    );
  });
});

describe('the push API in api/openapi.json', () => {
  it('describes POST api/queues/{queue}/jobs with its bodies, its errors and both ways to authenticate', () => {
    // What GET api/openapi.json serves, read without booting a runtime.
    const document = openApiDocument() as {
      paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    };
    const push = document.paths['/api/queues/{queue}/jobs']!.post!;
    expect(push.security).toEqual([{ bearerToken: [] }, { signedBody: [], signedAt: [] }]);
    expect(Object.keys(push.responses).sort()).toEqual(['200', '201', '400', '401', '404', '409', '413', '422']);
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['bearerToken', 'signedAt', 'signedBody']);
    // Every reference resolves within the document.
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(document.components.schemas).toHaveProperty(ref);
  });
});
