import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The client script and styles are built into dist/dashboard/assets (package.json `build`). From
// the compiled module that is ./assets; from the TypeScript sources (tests) it is the build's
// output, two levels up.
const CANDIDATES = [
  fileURLToPath(new URL('./assets/', import.meta.url)),
  fileURLToPath(new URL('../../dist/dashboard/assets/', import.meta.url)),
];

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

// One path segment or more, each a plain name: no `..`, no hidden files, no backslashes.
const SAFE_PATH = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$/;

const cache = new Map<string, { body: Buffer; etag: string }>();

/** The folder assets are served from, or undefined when none was built. */
export function assetsDirectory(): string | undefined {
  return CANDIDATES.find((dir) => existsSync(dir));
}

/**
 * Answers `assets/<path>`: a built file with its type, an ETag and a cache lifetime (an hour; the
 * pages may add a version query to bust it), or 404. Files are read once per process.
 */
export async function serveAsset(path: string, request: Request): Promise<Response> {
  const type = TYPES[extname(path)];
  const dir = assetsDirectory();
  if (!SAFE_PATH.test(path) || !type || !dir) return new Response('Not found', { status: 404 });
  let entry = cache.get(path);
  if (!entry) {
    try {
      const body = await readFile(join(dir, path));
      entry = { body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
      cache.set(path, entry);
    } catch {
      return new Response('Not found', { status: 404 });
    }
  }
  const headers = { 'Content-Type': type, 'Cache-Control': 'public, max-age=3600', ETag: entry.etag };
  if (request.headers.get('if-none-match') === entry.etag) return new Response(null, { status: 304, headers });
  return new Response(request.method === 'HEAD' ? null : new Uint8Array(entry.body), { headers });
}
