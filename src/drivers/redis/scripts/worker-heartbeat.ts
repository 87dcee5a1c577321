import { redisScript } from '../redis-client.js';
import { NOW_MS } from './server-time.js';

/**
 * A worker's beat: pushes its presumed-dead time to `lapse` ms from now, if it is still registered.
 * KEYS: workers, the worker's claimed-queues set, the worker's hash (its `beat` time). ARGV: worker id, lapse ms, the claimed set's
 * time to live (ms: past the lapse and a lease, so an abandoned set expires even when no sweep
 * runs). Returns 0 when its registration is gone, else 1 followed by the queues it has claimed
 * from (where its leases are).
 */
export const WORKER_HEARTBEAT = redisScript(
  'heartbeat',
  `${NOW_MS}
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[3], 'beat', now)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]))
local out = redis.call('SMEMBERS', KEYS[2])
table.insert(out, 1, 1)
return out
`,
);
