import { redisScript } from '../redis-client.js';
import { NOW_MS } from './server-time.js';

/**
 * One queue's counts for a dashboard, on the server's clock, without reading a job: ZCOUNT and
 * ZCARD are logarithmic in a sorted set's size. KEYS: waiting, reserved. Returns pending, delayed,
 * reserved, the score (available-at ms) of the first pending job or -1, and now (ms).
 */
export const INSPECT_QUEUE = redisScript(
  'inspect-queue',
  `${NOW_MS}
local pending = redis.call('ZCOUNT', KEYS[1], '-inf', now)
local delayed = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
local reserved = redis.call('ZCARD', KEYS[2])
local first = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1)
local oldest = -1
if first[2] then oldest = tonumber(first[2]) end
return { pending, delayed, reserved, oldest, now }
`,
);
