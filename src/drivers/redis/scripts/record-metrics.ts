import { redisScript } from '../redis-client.js';
import { NOW_MS } from './server-time.js';

/**
 * Adds a flush of the rollup. KEYS: the minutes index, the hours index (ZSETs). ARGV: the rollup's
 * key prefix, the retention in seconds, then per minute: the minute (unix s), its number of
 * fields n, and n pairs of field and amount. Each amount goes to the minute's hash and its hour's;
 * both expire a retention after their period ends, and the indexes forget periods past it.
 */
export const RECORD_METRICS = redisScript(
  'record-metrics',
  `${NOW_MS}
local prefix = ARGV[1]
local keep = tonumber(ARGV[2])
local i = 3
while i <= #ARGV do
  local minute = tonumber(ARGV[i])
  local n = tonumber(ARGV[i + 1])
  i = i + 2
  local hour = minute - minute % 3600
  local m = prefix .. 'm:' .. minute
  local h = prefix .. 'h:' .. hour
  for _ = 1, n do
    redis.call('HINCRBY', m, ARGV[i], ARGV[i + 1])
    redis.call('HINCRBY', h, ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  redis.call('EXPIREAT', m, minute + 60 + keep)
  redis.call('EXPIREAT', h, hour + 3600 + keep)
  redis.call('ZADD', KEYS[1], minute, minute)
  redis.call('ZADD', KEYS[2], hour, hour)
end
local oldest = math.floor(now / 1000) - keep
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (oldest - 60))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (oldest - 3600))
return 0
`,
);

/**
 * Deletes the rollup's periods that started before ARGV[2] (unix s): minutes, and hours that
 * ended by then. KEYS: the minutes index, the hours index. ARGV: the rollup's key prefix, the
 * bound. Returns how many keys went.
 */
export const PRUNE_METRICS = redisScript(
  'prune-metrics',
  `
local prefix = ARGV[1]
local before = tonumber(ARGV[2])
local gone = 0
for _, minute in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. before)) do
  gone = gone + redis.call('DEL', prefix .. 'm:' .. minute)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. before)
for _, hour in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', before - 3600)) do
  gone = gone + redis.call('DEL', prefix .. 'h:' .. hour)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', before - 3600)
return gone
`,
);
