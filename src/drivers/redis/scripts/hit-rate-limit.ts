import { type RedisScript, redisScript } from '../redis-client.js';

// KEYS[1] the counter, ARGV[1] the window's length in ms. The first hit of a window sets its
// expiry, so the window ends that long after it on the server's clock and the next hit finds no
// key and starts over at 1. A counter found without expiry (a key written by hand) gets one
// rather than counting forever.
const lua = `local hits = redis.call('INCR', KEYS[1])
if hits == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return hits`;

/** Counts one hit in a key's fixed window, opening the window on its first hit; returns the count. */
export const HIT_RATE_LIMIT: RedisScript = redisScript('hit-rate-limit', lua);
