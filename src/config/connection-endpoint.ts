import type { ResolvedConnection } from './config-types.js';

/**
 * `[name]` and, where its config names one, the server's host:port: `[main] (db.internal:5432)`,
 * for an error about a connection that could not be read to point at. Never credentials: only the
 * host and port of a URL are kept.
 */
export function connectionLabel(name: string, config: ResolvedConnection | undefined): string {
  let endpoint: string | undefined;
  if (config?.driver === 'redis') endpoint = `${config.host}:${config.port}`;
  else if (config?.driver === 'database' && config.client !== 'better-sqlite3') {
    const target = config.connection;
    if (typeof target === 'string') {
      try {
        const url = new URL(target);
        endpoint = url.port ? `${url.hostname}:${url.port}` : url.hostname;
      } catch {
        // not a URL (a socket path or a name only its client knows): name the connection alone
      }
    } else if (target && 'host' in target && target.host) {
      endpoint = 'port' in target && target.port ? `${target.host}:${target.port}` : String(target.host);
    }
  }
  return endpoint ? `[${name}] (${endpoint})` : `[${name}]`;
}
