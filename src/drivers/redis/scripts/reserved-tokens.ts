import { redisScript } from '../redis-client.js';

/**
 * Which lease token holds each reserved job of one queue, the earliest lapsing first, at most
 * `cap` of them. KEYS: reserved. ARGV: job key prefix, cap. Returns id and token per job. The
 * reserved set holds what workers are running (their busy slots), so it stays small.
 */
export const RESERVED_TOKENS = redisScript(
  'reserved-tokens',
  `
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)) do
  local token = redis.call('HGET', ARGV[1] .. id, 'token')
  if token then
    out[#out + 1] = id
    out[#out + 1] = token
  end
end
return out
`,
);
