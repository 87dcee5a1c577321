import { redisScript } from '../redis-client.js';

/**
 * Deletes every job of one queue, reserved ones too. KEYS: waiting, reserved, notify. ARGV: job
 * key prefix. Returns how many.
 */
export const CLEAR_QUEUE = redisScript(
  'clear',
  `
local count = 0
for k = 1, 2 do
  for _, id in ipairs(redis.call('ZRANGE', KEYS[k], 0, -1)) do
    redis.call('DEL', ARGV[1] .. id)
    count = count + 1
  end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return count
`,
);
