import { ConfigError } from '../errors/config-error.js';
import { MAX_SECONDS, MAX_TIMER_SECONDS } from '../runtime/numeric-bounds.js';
import type { HeartbeatConfig } from './config-types.js';
import { HEARTBEAT_DEFAULTS } from './defaults.js';

/** A connection's heartbeat settings after defaults: false when heartbeats are off. */
export type ResolvedHeartbeat = { interval: number; lapse: number } | false;

/**
 * A connection's `heartbeat` option with defaults filled in and checked against `retryAfter`;
 * errors are prefixed by `at` (the connection and config file).
 */
export function resolveHeartbeat(
  at: string,
  raw: HeartbeatConfig | false | undefined,
  retryAfter: number,
): ResolvedHeartbeat {
  if (raw === false) return false;
  const interval = raw?.interval ?? HEARTBEAT_DEFAULTS.interval;
  const lapse = raw?.lapse ?? Math.max(HEARTBEAT_DEFAULTS.lapse, interval * 5);
  if (typeof interval !== 'number' || !(interval > 0)) {
    throw new ConfigError(`${at}: heartbeat.interval must be a number of seconds > 0, got ${String(interval)}.`);
  }
  // The monitor thread beats on one setInterval: past Node's timer limit it would fire every millisecond.
  if (interval > MAX_TIMER_SECONDS) {
    throw new ConfigError(
      `${at}: heartbeat.interval must be at most ${MAX_TIMER_SECONDS} s (Node's timer limit, about 24 days), got ${interval}.`,
    );
  }
  if (!Number.isInteger(lapse) || lapse <= interval) {
    throw new ConfigError(
      `${at}: heartbeat.lapse must be a whole number of seconds greater than heartbeat.interval (${interval}), got ${String(lapse)}.`,
    );
  }
  if (lapse > MAX_SECONDS)
    throw new ConfigError(`${at}: heartbeat.lapse must be at most ${MAX_SECONDS} s, got ${lapse}.`);
  // Leases are renewed on each beat; a beat slower than retryAfter would let live jobs expire.
  if (interval * 2 > retryAfter) {
    throw new ConfigError(
      `${at}: heartbeat.interval (${interval} s) must be at most half of retryAfter (${retryAfter} s).`,
    );
  }
  return { interval, lapse };
}
