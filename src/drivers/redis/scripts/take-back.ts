import { redisScript } from '../redis-client.js';
import { NOW_MS, WAKE } from './server-time.js';

/**
 * Takes back every job of one queue reserved under `token` (a worker presumed dead): claimable
 * at once at its old turn, attempt kept. KEYS: waiting, reserved, notify. ARGV: job key prefix,
 * lease token, notify cap. Returns how many.
 */
export const TAKE_BACK = redisScript(
  'take-back',
  `${NOW_MS}${WAKE}
local count = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local job = ARGV[1] .. id
  if redis.call('HGET', job, 'token') == ARGV[2] then
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
