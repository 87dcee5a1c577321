import { redisScript } from '../redis-client.js';
import { NOW_MS } from './server-time.js';

/**
 * A queue's jobs by state, on the server's clock. KEYS: waiting, reserved. ARGV: job key prefix.
 * Returns pending, delayed, reserved, and the ms since the first pending job was created (-1: none).
 */
export const QUEUE_STATS = redisScript(
  'stats',
  `${NOW_MS}
local pending = redis.call('ZCOUNT', KEYS[1], '-inf', now)
local delayed = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
local reserved = redis.call('ZCARD', KEYS[2])
local age = -1
local first = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1)[1]
if first then
  local created = redis.call('HGET', ARGV[1] .. first, 'created')
  if created then age = math.max(0, now - tonumber(created)) end
end
return { pending, delayed, reserved, age }
`,
);
