import { redisScript } from '../redis-client.js';
import { HOLDS } from './server-time.js';

/**
 * Deletes finished jobs of one queue that are still held by their claims. KEYS: reserved. ARGV:
 * job key prefix, then per job its id, lease token and attempts. Returns the ids deleted.
 */
export const DELETE_JOBS = redisScript(
  'delete',
  `${HOLDS}
local out = {}
for i = 2, #ARGV, 3 do
  local id = ARGV[i]
  local job = ARGV[1] .. id
  if holds(job, id, ARGV[i + 1], ARGV[i + 2], KEYS[1]) then
    redis.call('ZREM', KEYS[1], id)
    redis.call('DEL', job)
    out[#out + 1] = id
  end
end
return out
`,
);
