import { redisScript } from '../redis-client.js';
import { NOW_MS } from './server-time.js';

/**
 * Claims up to `limit` due jobs of one queue. KEYS: waiting, reserved. ARGV: job key prefix,
 * limit, lease token, lease ms, migration batch size. First moves at most a batch of lapsed
 * reservations back to waiting (at their old turn, attempt kept); then takes the due jobs in
 * (available-at, id) order, counting each attempt, stamping the token and the lease expiry.
 * Returns id, payload, attempts, exceptions per job. An id whose hash is gone is dropped.
 */
export const CLAIM_JOBS = redisScript(
  'claim',
  `${NOW_MS}
local prefix = ARGV[1]
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. now, 'LIMIT', 0, tonumber(ARGV[5]))
for _, id in ipairs(lapsed) do
  redis.call('ZREM', KEYS[2], id)
  local job = prefix .. id
  local at = redis.call('HGET', job, 'at')
  if at then
    redis.call('HDEL', job, 'token')
    redis.call('ZADD', KEYS[1], at, id)
  end
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
local expiry = now + tonumber(ARGV[4])
for i = 1, #due, 2 do
  local id = due[i]
  redis.call('ZREM', KEYS[1], id)
  local job = prefix .. id
  local fields = redis.call('HMGET', job, 'payload', 'exceptions')
  if fields[1] then
    local attempts = redis.call('HINCRBY', job, 'attempts', 1)
    redis.call('HSET', job, 'token', ARGV[3], 'at', due[i + 1])
    redis.call('ZADD', KEYS[2], expiry, id)
    out[#out + 1] = id
    out[#out + 1] = fields[1]
    out[#out + 1] = attempts
    out[#out + 1] = fields[2]
  end
end
return out
`,
);
