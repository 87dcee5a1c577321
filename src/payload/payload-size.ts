/**
 * The UTF-8 size of `text` when it is over `limit` bytes, else undefined. A JSON character takes
 * at most 3 bytes per UTF-16 unit, so bytes are only counted when the length could exceed it.
 */
export function bytesOver(text: string, limit: number): number | undefined {
  if (text.length * 3 <= limit) return undefined;
  const bytes = Buffer.byteLength(text);
  return bytes > limit ? bytes : undefined;
}
