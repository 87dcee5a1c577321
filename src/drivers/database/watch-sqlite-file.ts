import { type FSWatcher, watch } from 'node:fs';
import path from 'node:path';

/**
 * SQLite only: watches the database's directory for writes to its file or its WAL, calling
 * `onWrite` for each, so a worker wakes as soon as another process commits a job instead of
 * waiting out `--sleep`. The kernel reports the writes (inotify, FSEvents), so an idle worker
 * spends nothing. A write by the worker itself wakes it too; that costs one early look. When the
 * directory cannot be watched, polling carries on alone. Resolves to a function that stops.
 */
export async function watchSqliteFile(
  filename: string,
  onWrite: () => void,
  report: (error: unknown) => void,
): Promise<() => Promise<void>> {
  if (filename === ':memory:' || filename === '') return async () => undefined;
  const base = path.basename(filename);
  const names = new Set([base, `${base}-wal`]);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path.dirname(path.resolve(filename)), { persistent: false }, (_event, name) => {
      if (name === null || names.has(String(name))) onWrite();
    });
    watcher.on('error', (error) => {
      report(new Error(`Watching ${filename} for new jobs stopped (${error.message}); polling carries on.`));
      watcher?.close();
    });
  } catch (error) {
    report(new Error(`Cannot watch ${filename} for new jobs (${(error as Error).message}); polling carries on.`));
  }
  return async () => watcher?.close();
}
