import { redisScript } from '../redis-client.js';
import { NOW_MS } from './server-time.js';

/**
 * One job of one queue, if that queue holds it. KEYS: waiting, reserved. ARGV: job key prefix, id.
 * Returns nothing when the queue holds no such job, else its state (`pending`, `delayed`,
 * `reserved`), its available-at ms, then payload, attempts, exceptions, created, claimed, token.
 */
export const INSPECT_JOB = redisScript(
  'inspect-job',
  `${NOW_MS}
local id = ARGV[2]
local fields = redis.call('HMGET', ARGV[1] .. id, 'payload', 'attempts', 'exceptions', 'created', 'claimed', 'token', 'at')
if not fields[1] then return false end
local state, at
local lease = redis.call('ZSCORE', KEYS[2], id)
if lease then
  state = 'reserved'
  at = fields[7] or ''
else
  at = redis.call('ZSCORE', KEYS[1], id)
  if not at then return false end
  if tonumber(at) <= now then state = 'pending' else state = 'delayed' end
end
return { state, at, fields[1], fields[2] or '0', fields[3] or '0', fields[4] or '', fields[5] or '', fields[6] or '' }
`,
);
