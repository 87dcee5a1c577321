import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

import type { ResolvedApiConfig } from '../../config/config-types.js';
import { PushError } from './push-error.js';

/** The header carrying `sha256=<hex>`: the HMAC-SHA256 of `<timestamp>.<raw body>` under a signing key. */
export const SIGNATURE_HEADER = 'x-errand-signature';
/** The header carrying the unix time (seconds) the request was signed at. */
export const TIMESTAMP_HEADER = 'x-errand-timestamp';

/** How a push was let in: which kind of credential, and which of the configured ones (by position). */
export interface PushCredential {
  readonly kind: 'token' | 'signature';
  readonly index: number;
}

/**
 * The signature a sender puts in `X-Errand-Signature`: `sha256=` and the hex HMAC-SHA256, under
 * `key`, of the timestamp, a dot and the raw body. The timestamp is signed with the body so a
 * captured request cannot be replayed later under a fresh timestamp.
 */
export function signPushBody(key: string, body: string | Uint8Array, timestamp: number): string {
  return `sha256=${createHmac('sha256', key).update(`${timestamp}.`).update(body).digest('hex')}`;
}

const WWW_AUTHENTICATE = { 'www-authenticate': 'Bearer realm="errand push API"' };

/**
 * Lets a push in by its bearer token or its body's signature, or throws a 401 saying what is
 * missing or wrong. Every configured secret is compared in constant time, all of them every time,
 * so neither the time taken nor an early return tells how close a guess came. `nowSeconds` is
 * this process's clock: the sender's clock must be within `replayWindow` of it.
 */
export function authenticatePush(
  headers: Headers,
  body: Uint8Array,
  api: ResolvedApiConfig,
  nowSeconds: number,
): PushCredential {
  if (api.tokens.length === 0 && api.signingKeys.length === 0) {
    throw new PushError(
      401,
      'The push API is closed: no token or signing key is configured. Set api.tokens or api.signingKeys in the errand config (or ERRAND_API_TOKENS / ERRAND_API_SIGNING_KEYS).',
      'api.tokens',
      WWW_AUTHENTICATE,
    );
  }
  const authorization = headers.get('authorization');
  if (authorization !== null) return checkToken(authorization, api.tokens);
  const signature = headers.get(SIGNATURE_HEADER);
  if (signature !== null) return checkSignature(signature, headers.get(TIMESTAMP_HEADER), body, api, nowSeconds);
  throw new PushError(
    401,
    'No credentials: send Authorization: Bearer <token> (api.tokens) or X-Errand-Signature with X-Errand-Timestamp (api.signingKeys).',
    'api.tokens',
    WWW_AUTHENTICATE,
  );
}

function checkToken(authorization: string, tokens: readonly string[]): PushCredential {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) {
    throw new PushError(401, 'The Authorization header must be "Bearer <token>".', 'api.tokens', WWW_AUTHENTICATE);
  }
  // Digests have one length, so timingSafeEqual compares tokens of any length without revealing it.
  const presented = sha256(match[1]!);
  const index = firstMatch(
    tokens.map((token) => sha256(token)),
    presented,
  );
  if (index < 0) {
    const why = tokens.length === 0 ? 'no tokens are configured (api.tokens)' : 'it matches none of api.tokens';
    throw new PushError(401, `The bearer token was refused: ${why}.`, 'api.tokens', WWW_AUTHENTICATE);
  }
  return { kind: 'token', index };
}

function checkSignature(
  header: string,
  timestampHeader: string | null,
  body: Uint8Array,
  api: ResolvedApiConfig,
  nowSeconds: number,
): PushCredential {
  const refuse = (why: string) => new PushError(401, why, 'api.signingKeys', WWW_AUTHENTICATE);
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match)
    throw refuse('X-Errand-Signature must be "sha256=" and 64 hex digits (the HMAC-SHA256 of "<timestamp>.<body>").');
  if (timestampHeader === null || !/^\d{1,12}$/.test(timestampHeader.trim())) {
    throw refuse('A signed push needs X-Errand-Timestamp: the unix time in seconds it was signed at.');
  }
  const timestamp = Number(timestampHeader.trim());
  const skew = Math.abs(nowSeconds - timestamp);
  if (skew > api.replayWindow) {
    throw refuse(
      `X-Errand-Timestamp is ${skew} seconds from this server's clock, outside api.replayWindow (${api.replayWindow} s): sign each request when it is sent, and check the sender's clock.`,
    );
  }
  const presented = Buffer.from(match[1]!.toLowerCase(), 'hex');
  const expected = api.signingKeys.map((key) =>
    createHmac('sha256', key).update(`${timestamp}.`).update(body).digest(),
  );
  const index = firstMatch(expected, presented);
  if (index < 0) {
    const why =
      api.signingKeys.length === 0
        ? 'no signing keys are configured (api.signingKeys)'
        : 'it matches no key of api.signingKeys for this body and timestamp';
    throw refuse(`The signature was refused: ${why}.`);
  }
  return { kind: 'signature', index };
}

/** The position of the first of `candidates` equal to `presented`, comparing against every one. */
function firstMatch(candidates: readonly Buffer[], presented: Buffer): number {
  let found = -1;
  candidates.forEach((candidate, i) => {
    const equal = candidate.length === presented.length && timingSafeEqual(candidate, presented);
    if (equal && found < 0) found = i;
  });
  return found;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
