import { redisScript } from '../redis-client.js';
import { NOW_MS } from './server-time.js';

/**
 * Registers a worker alive for `lapse` ms from now (again, after it was presumed dead). KEYS:
 * workers, the worker's hash. ARGV: worker id, lapse ms, registration JSON. The hash also keeps
 * when the worker started and last beat (ms), which a dashboard shows.
 */
export const REGISTER_WORKER = redisScript(
  'register-worker',
  `${NOW_MS}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], 'registration', ARGV[3], 'beat', now)
redis.call('HSETNX', KEYS[2], 'started', now)
return 1
`,
);
