import { redisScript } from '../redis-client.js';
import { NOW_MS, WAKE } from './server-time.js';

/**
 * Stores jobs of one queue. KEYS: waiting, notify. ARGV: job key prefix, notify cap, then per job
 * its id, payload, `a` (absolute ms) or `r` (ms from now) and that number. Wakes a blocked worker
 * per job due now, up to the cap.
 */
export const PUSH_JOBS = redisScript(
  'push',
  `${NOW_MS}${WAKE}
local due = 0
for i = 3, #ARGV, 4 do
  local at = tonumber(ARGV[i + 3])
  if ARGV[i + 2] == 'r' then at = now + at end
  redis.call('HSET', ARGV[1] .. ARGV[i], 'payload', ARGV[i + 1], 'attempts', 0, 'exceptions', 0, 'created', now)
  redis.call('ZADD', KEYS[1], at, ARGV[i])
  if at <= now then due = due + 1 end
end
if due > 0 then wake(KEYS[2], due, tonumber(ARGV[2])) end
return due
`,
);
