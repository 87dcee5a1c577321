import { randomBytes } from 'node:crypto';

/** Random per process, so ids from several processes never meet; 8 base-36 characters. */
const PROCESS_PART = BigInt(`0x${randomBytes(6).toString('hex')}`)
  .toString(36)
  .padStart(10, '0')
  .slice(-8);

/** Fixed width, so ids of one process sort (as strings, and by length) in the order they were made. */
const COUNTER_WIDTH = 10;

let counter = 0;

/**
 * A new job id, unique across queues and processes without asking the server: the process's
 * random part and a counter. Jobs due at the same millisecond are claimed in id order, which is
 * the order one process pushed them.
 */
export function nextJobId(): string {
  counter++;
  return `${PROCESS_PART}${counter.toString(36).padStart(COUNTER_WIDTH, '0')}`;
}
