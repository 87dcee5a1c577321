import { redisScript } from '../redis-client.js';
import { NOW_MS } from './server-time.js';

/**
 * Renews the leases of the listed jobs of one queue that `token` holds, to `lease` ms from now.
 * KEYS: reserved. ARGV: job key prefix, lease token, lease ms, then ids. Returns how many.
 */
export const RENEW_LEASES = redisScript(
  'renew',
  `${NOW_MS}
local expiry = now + tonumber(ARGV[3])
local count = 0
for i = 4, #ARGV do
  local id = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], id) and redis.call('HGET', ARGV[1] .. id, 'token') == ARGV[2] then
    redis.call('ZADD', KEYS[1], expiry, id)
    count = count + 1
  end
end
return count
`,
);
