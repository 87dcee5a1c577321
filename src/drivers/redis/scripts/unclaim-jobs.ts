import { redisScript } from '../redis-client.js';
import { HOLDS, NOW_MS, WAKE } from './server-time.js';

/**
 * Gives back jobs of one queue claimed but never started, each only if its claim still holds it:
 * the attempt is returned; without a delay the job keeps its turn, else it is due `delay` ms from
 * now. KEYS: waiting, reserved, notify. ARGV: job key prefix, delay ms, notify cap, then per job
 * its id, lease token and attempts. Returns how many were still held.
 */
export const UNCLAIM_JOBS = redisScript(
  'unclaim',
  `${NOW_MS}${WAKE}${HOLDS}
local delay = tonumber(ARGV[2])
local count = 0
for i = 4, #ARGV, 3 do
  local id = ARGV[i]
  local job = ARGV[1] .. id
  if holds(job, id, ARGV[i + 1], ARGV[i + 2], KEYS[2]) then
    redis.call('ZREM', KEYS[2], id)
    redis.call('HDEL', job, 'token')
    redis.call('HINCRBY', job, 'attempts', -1)
    local at = now + delay
    if delay <= 0 then at = tonumber(redis.call('HGET', job, 'at') or now) end
    redis.call('ZADD', KEYS[1], at, id)
    count = count + 1
  end
end
if delay <= 0 and count > 0 then wake(KEYS[3], count, tonumber(ARGV[3])) end
return count
`,
);
