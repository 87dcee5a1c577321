import { redisScript } from '../redis-client.js';
import { HOLDS, NOW_MS, WAKE } from './server-time.js';

/**
 * Puts a held job back, available `delay` ms from now, with its exception count; its attempt stays
 * counted. KEYS: waiting, reserved, notify. ARGV: job key prefix, id, lease token, attempts,
 * delay ms, exceptions, notify cap. Returns 1, or 0 when the claim no longer holds the job.
 */
export const RELEASE_JOB = redisScript(
  'release',
  `${NOW_MS}${WAKE}${HOLDS}
local id = ARGV[2]
local job = ARGV[1] .. id
if not holds(job, id, ARGV[3], ARGV[4], KEYS[2]) then return 0 end
redis.call('ZREM', KEYS[2], id)
redis.call('HDEL', job, 'token')
redis.call('HSET', job, 'exceptions', ARGV[6])
local delay = tonumber(ARGV[5])
redis.call('ZADD', KEYS[1], now + delay, id)
if delay <= 0 then wake(KEYS[3], 1, tonumber(ARGV[7])) end
return 1
`,
);
