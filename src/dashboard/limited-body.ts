/**
 * A request's raw body, refused as soon as it passes `limit` bytes: a declared Content-Length
 * over it is refused before reading, and a body sent without one (chunked) is cut off where it
 * passes, so no upload is held whole before it is judged. `tooLarge` makes the error, given the
 * size it saw (`"2000000"`, or `"more than 1048576"` mid-stream).
 */
export async function readLimitedBody(
  request: Request,
  limit: number,
  tooLarge: (size: string) => Error,
): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(String(declared));
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(`more than ${limit}`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
