import { redisScript } from '../redis-client.js';
import { NOW_MS } from './server-time.js';

/**
 * Claims up to `limit` due jobs of one queue. KEYS: waiting, reserved, notify. ARGV: job key prefix,
 * limit, lease token, lease ms, migration batch size. First moves at most a batch of lapsed
 * reservations back to waiting (at their old turn, attempt kept); then takes the due jobs in
 * (available-at, id) order, counting each attempt, stamping the token, the claim time (`claimed`,
 * what a late take-back checks: take-back.ts) and the lease expiry.
 * Returns first how many lapsed reservations it moved back (errand_jobs_recovered_total counts
 * them), then per job its id, payload, attempts, exceptions, a problem and its wait (ms from when it
 * became available to this claim, the metrics rollup's). The problem is '' for a sound job, else
 * what is wrong with its entry (`type:none`, no hash; `type:<type>`, a key of another type where its
 * hash belongs; `no-payload`; `attempts:<value>`, not a whole number). Such a job is claimed like
 * any other (a hash takes the place of a missing or mistyped key, a string's text kept as its
 * payload), so the worker fails it with the reason instead of it vanishing or wedging every
 * claim. An id waiting while its job is reserved under a live lease is dropped: the job runs once.
 * A claim that leaves no due job behind deletes the queue's wake-up tokens: they would only wake
 * workers to find nothing, and an idle queue keeps no notify key.
 */
export const CLAIM_JOBS = redisScript(
  'claim',
  `${NOW_MS}
local prefix = ARGV[1]
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. now, 'LIMIT', 0, tonumber(ARGV[5]))
for _, id in ipairs(lapsed) do
  redis.call('ZREM', KEYS[2], id)
  local job = prefix .. id
  local at = now
  if redis.call('TYPE', job).ok == 'hash' then
    at = redis.call('HGET', job, 'at') or now
    redis.call('HDEL', job, 'token')
  end
  redis.call('ZADD', KEYS[1], at, id)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = { #lapsed }
local expiry = now + tonumber(ARGV[4])
for i = 1, #due, 2 do
  local id = due[i]
  redis.call('ZREM', KEYS[1], id)
  local job = prefix .. id
  local kind = redis.call('TYPE', job).ok
  local payload, attempts, exceptions, problem, running = '', 0, 0, '', false
  if kind == 'hash' then
    local fields = redis.call('HMGET', job, 'payload', 'attempts', 'exceptions', 'token')
    running = fields[4] ~= false and redis.call('ZSCORE', KEYS[2], id) ~= false
    if fields[1] then payload = fields[1] else problem = 'no-payload' end
    attempts = tonumber(fields[2] or '0')
    if attempts == nil or attempts < 0 or attempts ~= math.floor(attempts) then
      if problem == '' then problem = 'attempts:' .. tostring(fields[2]) end
      attempts = 0
    end
    exceptions = tonumber(fields[3] or '0') or 0
  else
    problem = 'type:' .. kind
    if kind == 'string' then payload = redis.call('GET', job) end
    redis.call('DEL', job)
    redis.call('HSET', job, 'payload', payload, 'created', now)
  end
  if not running then
    -- Saturates where the database's counter does: at 2^31 - 1 a job is past any tries.
    attempts = math.min(attempts, 2147483646) + 1
    redis.call('HSET', job, 'attempts', attempts, 'exceptions', exceptions, 'token', ARGV[3], 'at', due[i + 1], 'claimed', now)
    redis.call('ZADD', KEYS[2], expiry, id)
    out[#out + 1] = id
    out[#out + 1] = payload
    out[#out + 1] = attempts
    out[#out + 1] = exceptions
    out[#out + 1] = problem
    out[#out + 1] = math.max(0, now - tonumber(due[i + 1]))
  end
end
if #due < 2 * tonumber(ARGV[2]) then redis.call('DEL', KEYS[3]) end
return out
`,
);
