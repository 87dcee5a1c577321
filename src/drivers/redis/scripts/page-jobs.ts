import { redisScript } from '../redis-client.js';
import { NOW_MS } from './server-time.js';

/**
 * A page of one queue's jobs in one state, walking a sorted set by rank after a keyset cursor.
 * KEYS: the set (waiting for pending and delayed, reserved for reserved). ARGV: job key prefix,
 * state, the cursor's score ('' for the start) and id, limit, job name ('' for any), window, and
 * `"displayName":` followed by the name as JSON, which a payload holding the name contains.
 *
 * Pending jobs are the waiting set's ranks below ZCOUNT(-inf, now), delayed ones the ranks from
 * there; the cursor's rank is found by two ZCOUNTs and a binary search among the entries sharing
 * its score (a bulk push stores thousands at one millisecond, ordered by id), so a page costs
 * O(log n + what it reads) however deep it is, and a cursor whose job left the set still finds
 * its place. With a job name, at most `window` entries are read (each payload searched, and
 * decoded where the search finds the name) and the
 * page may come back short: the walk reports where it stopped.
 * Returns `more` (1 when entries are left after the last one read), the last read entry's score
 * and id, then per job: id, score, payload, attempts, exceptions, created, claimed, token, at.
 */
export const PAGE_JOBS = redisScript(
  'page-jobs',
  `${NOW_MS}
local key, prefix, state = KEYS[1], ARGV[1], ARGV[2]
local first, last = 0, redis.call('ZCARD', key)
if state ~= 'reserved' then
  local due = redis.call('ZCOUNT', key, '-inf', now)
  if state == 'pending' then last = due else first = due end
end
if ARGV[3] ~= '' then
  local lo = redis.call('ZCOUNT', key, '-inf', '(' .. ARGV[3])
  local hi = redis.call('ZCOUNT', key, '-inf', ARGV[3])
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if redis.call('ZRANGE', key, mid, mid)[1] <= ARGV[4] then lo = mid + 1 else hi = mid end
  end
  if lo > first then first = lo end
end
local limit, name, window, needle = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7]), ARGV[8]
local out = { 0, '', '' }
local found, read, at = 0, 0, first
while at < last and found < limit and read < window do
  local step = math.min(last - at, 100)
  if name == '' then step = math.min(step, limit - found) end
  local entries = redis.call('ZRANGE', key, at, at + step - 1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    if found >= limit or read >= window then break end
    local id = entries[i]
    read = read + 1
    at = at + 1
    out[2], out[3] = entries[i + 1], id
    local match = name == ''
    if not match then
      -- A plain search first: decoding every payload would hold the server several times longer.
      local payload = redis.call('HGET', prefix .. id, 'payload')
      if payload and string.find(payload, needle, 1, true) then
        local ok, decoded = pcall(cjson.decode, payload)
        match = ok and type(decoded) == 'table' and decoded.displayName == name
      end
    end
    if match then
      local fields = redis.call('HMGET', prefix .. id, 'payload', 'attempts', 'exceptions', 'created', 'claimed', 'token', 'at')
      found = found + 1
      out[#out + 1] = id
      out[#out + 1] = entries[i + 1]
      for f = 1, 7 do out[#out + 1] = fields[f] or '' end
    end
  end
  if #entries == 0 then break end
end
if at < last then out[1] = 1 end
return out
`,
);
