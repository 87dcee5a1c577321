import { redisScript } from '../redis-client.js';
import { NOW_MS } from './server-time.js';

/**
 * The verdict on workers whose beat lapsed (never `sweeper`'s own): each loses its registration
 * and its claimed-queues set at once, so a beat after this learns it was presumed dead. KEYS:
 * workers. ARGV: the connection-wide key prefix (`P{@}:`, whose keys share the workers' slot),
 * the sweeper's id (empty: none). Returns the sweep's time (server ms) and then per dead worker its
 * id, the number of its queues and those queues; the caller then takes its jobs back queue by
 * queue, only those claimed by that time (a worker may register again and claim meanwhile).
 */
export const SWEEP_WORKERS = redisScript(
  'sweep',
  `${NOW_MS}
local out = {now}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)) do
  if id ~= ARGV[2] then
    redis.call('ZREM', KEYS[1], id)
    redis.call('DEL', ARGV[1] .. 'worker:' .. id)
    local claimed = ARGV[1] .. 'claimed:' .. id
    local queues = redis.call('SMEMBERS', claimed)
    redis.call('DEL', claimed)
    out[#out + 1] = id
    out[#out + 1] = #queues
    for _, queue in ipairs(queues) do out[#out + 1] = queue end
  end
end
return out
`,
);
