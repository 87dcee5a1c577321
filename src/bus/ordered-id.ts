import { randomBytes } from 'node:crypto';

/**
 * A time-ordered UUID (version 7): the first 48 bits are the unix time in milliseconds, so batch
 * ids sort by creation, as Laravel's ordered UUIDs do, and the primary key index stays compact.
 */
export function orderedId(now: number = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
