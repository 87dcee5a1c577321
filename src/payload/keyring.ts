import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

import { ConfigError } from '../errors/config-error.js';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Marks sealed text and its format, so a later format can be told apart. */
const PREFIX = 'errand:v1:';

/** A new random key in the form `key` / ERRAND_KEY accepts (`base64:` and 32 bytes). */
export function generateKey(): string {
  return `base64:${randomBytes(32).toString('base64')}`;
}

/**
 * Reads a key written as `base64:…` (Laravel's APP_KEY form) or plain base64; it must decode to
 * 32 bytes. The error names `option`, never the value.
 */
export function parseKey(value: unknown, option: string): Buffer {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(
      `${option} must be a key written as base64:… (32 bytes); generate one with \`errand key:generate\`.`,
    );
  }
  const text = value.trim().replace(/^base64:/, '');
  const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) {
    throw new ConfigError(
      `${option} must be 32 bytes written as base64:… (it decodes to ${key.length} bytes); generate one with \`errand key:generate\`.`,
    );
  }
  return key;
}

/** Whether a stored command is sealed text rather than plain data. */
export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(PREFIX);
}

/**
 * The keys encrypted jobs are sealed with: AES-256-GCM under the current key; opening tries the
 * current key, then each previous one (key rotation). `context` (the job name) is bound into the
 * tag, so sealed data cannot be moved to a payload of another job.
 */
export class Keyring {
  constructor(
    private readonly current: Buffer | undefined,
    private readonly previous: readonly Buffer[] = [],
  ) {}

  /** Whether a current key is configured, so jobs can be sealed. */
  get canSeal(): boolean {
    return this.current !== undefined;
  }

  /** Whether any key (current or previous) is configured, so sealed jobs can be opened. */
  get hasKeys(): boolean {
    return this.current !== undefined || this.previous.length > 0;
  }

  seal(plaintext: string, context: string): string {
    if (!this.current)
      throw new ConfigError(
        'No encryption key is configured: set ERRAND_KEY (or `key` in the config); `errand key:generate` prints one.',
      );
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.current, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** The plaintext, or undefined when no key opens it (tampered, or sealed under an unknown key). */
  open(sealed: string, context: string): string | undefined {
    if (!isSealed(sealed)) return undefined;
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) return undefined;
    const iv = raw.subarray(0, IV_BYTES);
    const tag = raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
    const body = raw.subarray(IV_BYTES + TAG_BYTES);
    for (const key of this.current ? [this.current, ...this.previous] : this.previous) {
      try {
        const decipher = createDecipheriv(ALGORITHM, key, iv);
        decipher.setAAD(Buffer.from(context));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        // Not this key (or tampered): try the next one.
      }
    }
    return undefined;
  }
}
