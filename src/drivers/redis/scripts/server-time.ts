// Lua shared by errand's scripts. Time is the server's (TIME), never a host clock: one clock for
// every worker and dispatcher.

/** Declares `now`, the server's time in whole milliseconds. */
export const NOW_MS = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/**
 * Declares `wake(notifyKey, count, cap)`: adds up to `count` wake-up tokens to a queue's notify
 * list, never past `cap`, so blocked workers wake while the list stays small.
 */
export const WAKE = `
local function wake(key, count, cap)
  local room = cap - redis.call('LLEN', key)
  for _ = 1, math.min(count, room) do redis.call('RPUSH', key, '1') end
end
`;

/**
 * Declares `holds(jobKey, id, token, attempts, reservedKey)`: whether the job is still reserved
 * under this claim. The attempt count tells a worker's earlier claim of the job from its later one.
 */
export const HOLDS = `
local function holds(job, id, token, attempts, reserved)
  local fields = redis.call('HMGET', job, 'token', 'attempts')
  return fields[1] == token and fields[2] == attempts and redis.call('ZSCORE', reserved, id) ~= false
end
`;
