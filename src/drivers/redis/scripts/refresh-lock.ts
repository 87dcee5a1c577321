import { type RedisScript, redisScript } from '../redis-client.js';

// KEYS[1] the lock, ARGV[1] the caller, ARGV[2] the new TTL in ms (0: never expires). 1 when the
// caller still held the lock and its expiry moved.
const lua = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  redis.call('PERSIST', KEYS[1])
end
return 1`;

/** Moves the expiry of a lock only for its owner, in one step. */
export const REFRESH_LOCK: RedisScript = redisScript('refresh-lock', lua);
