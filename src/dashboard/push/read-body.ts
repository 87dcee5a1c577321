import { PushError } from './push-error.js';

/**
 * The request's raw body, refused (413) as soon as it passes `limit` bytes: a declared
 * Content-Length over it is refused before reading, and a body sent without one (chunked) is cut
 * off where it passes, so an endless upload never fills memory.
 */
export async function readLimitedBody(req: Request, limit: number): Promise<Uint8Array> {
  const tooLarge = (size: string) =>
    new PushError(
      413,
      `The request body is ${size} bytes, over the push API's limit of ${limit} bytes: send fewer jobs per request or raise api.maxBodySize.`,
      'api.maxBodySize',
    );
  const declared = Number(req.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(String(declared));
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
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
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}
