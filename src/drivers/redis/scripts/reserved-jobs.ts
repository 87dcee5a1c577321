import { redisScript } from '../redis-client.js';

/**
 * The listed jobs of one queue still reserved under `token`, with their payloads. KEYS: reserved.
 * ARGV: job key prefix, lease token, then ids. Returns id, payload, attempts, exceptions per job.
 */
export const RESERVED_JOBS = redisScript(
  'reserved-jobs',
  `
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], id) then
    local fields = redis.call('HMGET', ARGV[1] .. id, 'token', 'payload', 'attempts', 'exceptions')
    if fields[1] == ARGV[2] then
      out[#out + 1] = id
      out[#out + 1] = fields[2]
      out[#out + 1] = fields[3]
      out[#out + 1] = fields[4]
    end
  end
end
return out
`,
);
