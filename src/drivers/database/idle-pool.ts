import type { Knex } from 'knex';

import { type DriverSocketHolder, socketOf } from './connection.js';
import type { Engine } from './dialect.js';

/** The part of knex's pool (tarn 3) this module uses: its events, and the reaping timer it starts. */
interface TarnPool {
  on(event: 'startReaping', listener: () => void): unknown;
  on(event: 'acquireSuccess', listener: (eventId: number, resource: DriverSocketHolder) => void): unknown;
  on(event: 'release', listener: (resource: DriverSocketHolder) => void): unknown;
  readonly interval?: { unref?(): unknown } | null;
}

/**
 * Lets a process exit when all that is left open is this knex's idle pool, so a script that
 * dispatched and never called `shutdown()` ends when its own work does, instead of hanging (for
 * ever on SQLite, whose one pooled connection is never reaped; about 30 s on a server, until the
 * idle connections are). The pool's reaping timer never holds the process, and a connection's
 * socket holds it only while the connection is lent out: from the moment the pool hands it
 * over until it is given back. A statement in flight, or a transaction held open between its
 * statements, keeps the process alive as before; an idle connection is closed by the exit.
 */
export function letIdlePoolExit(knex: Knex, engine: Engine): void {
  const pool = (knex.client as { pool?: TarnPool }).pool;
  if (typeof pool?.on !== 'function') return;
  // tarn emits startReaping just before it starts the timer, in the same synchronous step.
  pool.on('startReaping', () => queueMicrotask(() => pool.interval?.unref?.()));
  pool.on('acquireSuccess', (_eventId, resource) => socketOf(engine, resource)?.ref?.());
  pool.on('release', (resource) => socketOf(engine, resource)?.unref?.());
}
