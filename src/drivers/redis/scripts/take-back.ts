import { redisScript } from '../redis-client.js';
import { NOW_MS, WAKE } from './server-time.js';

/**
 * Takes back every job of one queue reserved under `token` (a worker presumed dead) and claimed no
 * later than the sweep that found it dead: claimable at once at its old turn, attempt kept. KEYS:
 * waiting, reserved, notify. ARGV: job key prefix, lease token, notify cap, the sweep's time (ms).
 * The sweep and this script are separate round trips, and a worker keeps its id (its lease token)
 * when it registers again, so a claim it made after the sweep must stay its own: the claim time
 * tells them apart. On a cluster the sweep reads the `{@}` slot's clock and the claim the queue
 * slot's, so their nodes' clocks are assumed within a heartbeat round trip of each other.
 */
export const TAKE_BACK = redisScript(
  'take-back',
  `${NOW_MS}${WAKE}
local count = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local job = ARGV[1] .. id
  local fields = redis.call('HMGET', job, 'token', 'claimed')
  if fields[1] == ARGV[2] and tonumber(fields[2] or '0') <= tonumber(ARGV[4]) then
    redis.call('ZREM', KEYS[2], id)
    redis.call('HDEL', job, 'token')
    redis.call('ZADD', KEYS[1], tonumber(redis.call('HGET', job, 'at') or now), id)
    count = count + 1
  end
end
if count > 0 then wake(KEYS[3], count, tonumber(ARGV[3])) end
return count
`,
);
