/**
 * The `displayName` of stored payload text, or null when the text is not JSON or holds none: what
 * the dashboard shows and filters by, read without decoding (or trusting) the rest of the payload.
 */
export function displayNameOf(payload: string): string | null {
  try {
    const name = (JSON.parse(payload) as { displayName?: unknown } | null)?.displayName;
    return typeof name === 'string' ? name : null;
  } catch {
    return null;
  }
}
