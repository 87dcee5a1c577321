import type { Knex } from 'knex';

/** The NOTIFY channel for a jobs table: its payload is the queue a job was pushed to. */
export function jobsChannel(table: string): string {
  return `errand:${table}`;
}

interface RawPgClient {
  query(sql: string): Promise<unknown>;
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): void;
  on(event: 'error' | 'end', listener: (error?: Error) => void): void;
  end(): Promise<void>;
}

/**
 * PostgreSQL only: holds one connection outside the pool on `LISTEN`, calling `onQueue` for every
 * push, so idle workers start at once instead of waiting out `--sleep`. A dropped connection is
 * reported and re-established with capped backoff; polling carries on meanwhile. Resolves to a
 * function that stops listening.
 */
export async function listenForJobs(
  knex: Knex,
  table: string,
  onQueue: (queue: string) => void,
  report: (error: unknown) => void,
): Promise<() => Promise<void>> {
  const channel = jobsChannel(table);
  let client: RawPgClient | undefined;
  let stopped = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    if (stopped) return;
    try {
      const raw = (await (
        knex.client as { acquireRawConnection(): Promise<RawPgClient> }
      ).acquireRawConnection()) as RawPgClient;
      raw.on('notification', (message) => message.channel === channel && onQueue(message.payload ?? ''));
      const lost = (error?: Error) => {
        if (stopped || client !== raw) return;
        client = undefined;
        report(
          new Error(
            `The LISTEN connection for ${channel} was lost${error ? `: ${error.message}` : ''}; reconnecting (polling continues).`,
          ),
        );
        schedule();
      };
      raw.on('error', lost);
      raw.on('end', lost);
      await raw.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
      client = raw;
      failures = 0;
      if (stopped) await raw.end().catch(() => undefined);
    } catch (error) {
      if (!stopped) {
        failures++;
        if (failures === 1) report(error);
        schedule();
      }
    }
  };
  const schedule = () => {
    clearTimeout(retry);
    retry = setTimeout(() => void connect(), Math.min(30_000, 500 * 2 ** Math.min(failures, 6)));
    retry.unref();
  };

  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    const open = client;
    client = undefined;
    await open?.end().catch(() => undefined);
  };
}
