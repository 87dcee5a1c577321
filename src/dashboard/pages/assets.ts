// The version query the pages put on the asset URLs (`assets/app.js?v=<hash>`), from the built
// files' content, so a new build is fetched at once whatever the asset route's cache lifetime.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { assetsDirectory } from '../asset-route.js';

/** The assets every page links, relative to `<base>/assets/`. */
export const PAGE_ASSETS = ['app.js', 'app.css'] as const;

let versions: Promise<Record<string, string>> | undefined;

async function hashAll(): Promise<Record<string, string>> {
  const dir = assetsDirectory();
  const out: Record<string, string> = {};
  for (const name of PAGE_ASSETS) {
    // Missing assets (no build yet) leave the URL unversioned; the asset route answers 404 for them.
    const body = dir ? await readFile(join(dir, name)).catch(() => null) : null;
    out[name] = body ? createHash('sha256').update(body).digest('hex').slice(0, 12) : '0';
  }
  return out;
}

/** The `v` query value for each page asset (computed once per process). */
export function assetVersions(): Promise<Record<string, string>> {
  versions ??= hashAll();
  return versions;
}
