import { type RedisScript, redisScript } from '../redis-client.js';

// KEYS[1] the lock, ARGV[1] the caller. Deletes only the caller's own lock; 1 when it did.
const lua = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;

/** Frees a lock only for its owner, in one step (a GET then DEL from the client could free the lock of whoever took it over between the two). */
export const RELEASE_LOCK: RedisScript = redisScript('release-lock', lua);
