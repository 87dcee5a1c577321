import { ConfigError } from '../errors/config-error.js';
import type { ApiConfig, ResolvedApiConfig } from './config-types.js';

/** The push API's defaults: a 1 MiB body, a 5-minute replay window, answers kept 24 hours. */
export const API_DEFAULTS = {
  maxBodySize: 1024 * 1024,
  replayWindow: 300,
  idempotencyWindow: 24 * 60 * 60,
} as const;

/** Shorter secrets than this are refused: a token guessable by brute force over HTTP is no lock. */
export const MIN_SECRET_LENGTH = 16;

/**
 * The push API's settings: tokens and signing keys from the config or else the environment
 * (`ERRAND_API_TOKENS`, `ERRAND_API_SIGNING_KEYS`, comma-separated, as ERRAND_PREVIOUS_KEYS is),
 * limits with their defaults. A secret is named by where it came from, never quoted.
 */
export function resolveApi(api: ApiConfig | undefined, env: NodeJS.ProcessEnv, where: string): ResolvedApiConfig {
  return {
    tokens: secrets(api?.tokens, env.ERRAND_API_TOKENS, 'api.tokens', 'ERRAND_API_TOKENS', where),
    signingKeys: secrets(
      api?.signingKeys,
      env.ERRAND_API_SIGNING_KEYS,
      'api.signingKeys',
      'ERRAND_API_SIGNING_KEYS',
      where,
    ),
    maxBodySize: whole(api?.maxBodySize, API_DEFAULTS.maxBodySize, 256, 'api.maxBodySize', 'bytes', where),
    replayWindow: whole(api?.replayWindow, API_DEFAULTS.replayWindow, 1, 'api.replayWindow', 'seconds', where),
    idempotencyWindow: whole(
      api?.idempotencyWindow,
      API_DEFAULTS.idempotencyWindow,
      1,
      'api.idempotencyWindow',
      'seconds',
      where,
    ),
    jobs: api?.jobs === undefined ? undefined : [...api.jobs],
  };
}

function secrets(
  configured: string[] | undefined,
  fromEnv: string | undefined,
  option: string,
  variable: string,
  where: string,
): string[] {
  const list =
    configured ??
    fromEnv
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ??
    [];
  list.forEach((secret, i) => {
    if (secret.length < MIN_SECRET_LENGTH) {
      const at = configured === undefined ? `${variable}[${i}]` : `\`${option}[${i}]\`${where}`;
      throw new ConfigError(
        `${at} is ${secret.length} characters; the push API needs at least ${MIN_SECRET_LENGTH} (\`errand key:generate\` prints a good one).`,
      );
    }
  });
  return list;
}

function whole(
  value: number | undefined,
  fallback: number,
  min: number,
  option: string,
  unit: string,
  where: string,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`${option}${where} must be a whole number of ${unit} ≥ ${min}, got ${String(value)}.`);
  }
  return value;
}
