import type { DependencyContainer } from 'tsyringe';
import type { Keyring } from '../payload/keyring.js';
import { uniqueOfRawPayload } from '../payload/unique-payload.js';
import { runSync } from './run-sync.js';
import { releaseAtEnd, releaseBeforeHandle, type UniqueReleaseDeps } from './unique-release.js';

/**
 * `runSync` for the `sync` connection, releasing a unique job's lock the way a worker does: just
 * before handle() for `uniqueUntil: 'processing'`, else when the inline run ends, however it ends
 * (on sync the one attempt is also the last).
 */
export async function runSyncUnique(
  payloadText: string,
  connectionName: string,
  container: DependencyContainer,
  keyring: Keyring | undefined,
  deps: UniqueReleaseDeps,
): Promise<void> {
  const holder = uniqueOfRawPayload(payloadText);
  if (!holder) return runSync(payloadText, connectionName, container, keyring);
  const attempt = {};
  try {
    await runSync(payloadText, connectionName, container, keyring, {
      beforeHandle: releaseBeforeHandle(holder, attempt, deps),
    });
  } finally {
    await releaseAtEnd(holder, payloadText, attempt, deps);
  }
}
