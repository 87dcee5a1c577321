import { AsyncLocalStorage } from 'node:async_hooks';

import type { Knex } from 'knex';
import { knexConfigOf } from '../drivers/connect.js';
import { AfterCommitError, type AfterCommitFailure } from '../errors/after-commit-error.js';
import { ConfigError } from '../errors/config-error.js';

const ambient = new AsyncLocalStorage<Knex.Transaction>();

/**
 * Runs `callback` with `trx` as the ambient transaction: inside it, dispatches marked
 * `afterCommit` (by `.afterCommit()`, the job's `@Job({ afterCommit: true })` or the connection's
 * `afterCommit: true`) wait for the transaction to commit and are dropped if it rolls back; the
 * transaction's own promise settles only once they are stored (see `afterCommit` below).
 *
 * @example
 * ```ts
 * await knex.transaction((trx) => Bus.withinTransaction(trx, async () => {
 *   await trx('orders').insert(order);
 *   await ShipOrder.dispatch(order.id).afterCommit();
 * }));
 * ```
 */
export function withinTransaction<T>(trx: Knex.Transaction, callback: () => T | Promise<T>): Promise<T> {
  if (!isTransaction(trx))
    throw new ConfigError('Bus.withinTransaction(trx, callback): trx must be a knex transaction.');
  return Promise.resolve(ambient.run(trx, callback));
}

/** The ambient transaction of `withinTransaction`, if the caller runs inside one. */
export function currentTransaction(): Knex.Transaction | undefined {
  const trx = ambient.getStore();
  return trx && !trx.isCompleted() ? trx : undefined;
}

/** Whether `value` is a knex transaction. */
export function isTransaction(value: unknown): value is Knex.Transaction {
  return (
    typeof value === 'function' &&
    typeof (value as Partial<Knex.Transaction>).isCompleted === 'function' &&
    'executionPromise' in value
  );
}

const rolledBack = new WeakSet<Knex.Transaction>();
/** Outermost transactions whose COMMIT succeeded (seen by the thenable knex follows only then). */
const committedRoots = new WeakSet<Knex.Transaction>();
const watched = new WeakSet<Knex.Transaction>();

/**
 * Notes an explicit `trx.rollback()`: knex resolves a transaction's `executionPromise` (rather
 * than rejecting it) when it is rolled back without an error, its default
 * `doNotRejectOnRollback`, so the promise alone cannot tell a rollback from a commit. A call on a
 * finished transaction changes nothing and is not noted: knex's own container calls `rollback()`
 * after a commit whose after-commit work failed, and that transaction has committed.
 */
function watchRollback(trx: Knex.Transaction): void {
  if (watched.has(trx)) return;
  watched.add(trx);
  const rollback = trx.rollback.bind(trx);
  trx.rollback = ((error?: unknown) => {
    if (!trx.isCompleted()) rolledBack.add(trx);
    return rollback(error as Error);
  }) as Knex.Transaction['rollback'];
}

/** `trx` and every transaction it is nested in, innermost first: the last one is the one that commits. */
function levelsOf(trx: Knex.Transaction): Knex.Transaction[] {
  const levels: Knex.Transaction[] = [];
  for (
    let t: Knex.Transaction | undefined = trx;
    t;
    t = (t as { parentTransaction?: Knex.Transaction }).parentTransaction
  ) {
    watchRollback(t);
    levels.push(t);
  }
  return levels;
}

/**
 * Resolves to whether every level committed (a released savepoint, then the outermost commit); false on any rollback.
 * An outermost transaction whose COMMIT succeeded counts as committed even when its promise
 * rejected: it rejects with the AfterCommitError of a sibling piece of work.
 */
function allCommitted(levels: readonly Knex.Transaction[]): Promise<boolean> {
  return Promise.all(
    levels.map((t) =>
      t.executionPromise.then(
        () => committedRoots.has(t) || !rolledBack.has(t),
        () => committedRoots.has(t),
      ),
    ),
  ).then((each) => each.every(Boolean));
}

/** Work that waits for a transaction's commit: an after-commit push and its announcement. */
export interface CommitWork {
  /** Names it in an AfterCommitError, e.g. `Job ShipOrder on [database]`. */
  readonly what: string;
  /** Runs once the outermost transaction has committed, before the transaction's promise settles. */
  committed(): Promise<void>;
  /** Runs instead when the work never will: its transaction, or one it is nested in, rolled back. */
  dropped(): void;
  /**
   * The work runs the application's code (a job sent to the `sync` connection): it runs once the
   * transaction has settled and given its connection back, not while the commit is held (on
   * SQLite that connection is the pool's only one, which such code could wait for). Its failure
   * goes to `report` (the awaited promise has settled by then).
   */
  readonly runsCode?: boolean;
}

/** What after-commit work reports through and is tracked by (errand's runtime, passed in: no import cycle). */
export interface CommitHooks {
  /** Keeps `shutdown()` waiting for the promise. */
  track<T>(promise: Promise<T>): Promise<T>;
  /** An error nobody awaits. */
  report(error: unknown): void;
}

interface Registered {
  work: CommitWork;
  /** The levels between the work's transaction and the outermost one, which must not roll back either. */
  inner: Knex.Transaction[];
}

/** The work each outermost transaction holds its commit for. */
const held = new WeakMap<Knex.Transaction, Registered[]>();

/** The connection a committed transaction still holds while its after-commit work runs. */
interface HeldConnection {
  /** knex's client config, shared by every transaction and connection of one knex instance (one pool). */
  config: unknown;
  connection: unknown;
  active: boolean;
  /** Settles when the last use queued on the connection has ended: uses take turns (one BEGIN … COMMIT at a time). */
  turn: Promise<void>;
}

const holding = new AsyncLocalStorage<HeldConnection>();

/**
 * Runs `work` once `trx` and every transaction it is nested in have committed, and makes the
 * outermost transaction's promise (what `knex.transaction(...)` and `trx.commit()` return to the
 * application) settle only after it: the work of one transaction runs in the order it was
 * registered, each piece even when one before it failed, and the promise rejects with an
 * AfterCommitError naming the failures (the data stays committed). Work marked `runsCode` runs
 * after that promise has settled instead, its failures sent to `hooks.report`. On a rollback
 * `dropped()` runs instead.
 *
 * knex resolves the transaction's `executionPromise` with the value given to `commit(value)`, and
 * a promise given a thenable follows it: the commit is handed a thenable that knex's promise calls
 * only once COMMIT has succeeded, which starts the work and settles with its outcome.
 */
export function afterCommit(trx: Knex.Transaction, work: CommitWork, hooks: CommitHooks): void {
  const levels = levelsOf(trx);
  const root = levels[levels.length - 1]!;
  if (root.isCompleted()) {
    // Its commit is already under way: nothing can wait any more; the work follows the outcome.
    void allCommitted(levels).then((ok) => (ok ? hooks.track(work.committed()).catch(hooks.report) : work.dropped()));
    return;
  }
  let registered = held.get(root);
  if (!registered) {
    registered = [];
    held.set(root, registered);
    holdCommit(root, registered, hooks);
  }
  registered.push({ work, inner: levels.slice(0, -1) });
}

function holdCommit(root: Knex.Transaction, registered: Registered[], hooks: CommitHooks): void {
  let ran: Promise<void> | undefined;
  // Work that runs the application's code, kept for when the transaction has let its connection go.
  const later: CommitWork[] = [];
  const run = () => (ran ??= hooks.track(runWork(root, registered, later)));
  const commit = root.commit.bind(root);
  root.commit = ((value?: unknown) => {
    const gate: PromiseLike<unknown> = {
      then: (resolve, reject) => run().then(() => resolve?.(value), reject) as never,
    };
    const sent = Promise.resolve(commit(gate as never));
    // By hand (`await trx.commit()`), the caller waits for the work too, and learns its failure;
    // a failed COMMIT resolves as knex's own commit() does (the failure is in knex's promise).
    return sent.then((result) =>
      root.executionPromise.then(
        () => result,
        (error: unknown) => (ran ? Promise.reject(error) : result),
      ),
    );
  }) as Knex.Transaction['commit'];
  // Rolled back (the thenable was never followed): nothing runs, what was held is let go.
  const settled = () => {
    if (!ran) for (const { work } of registered.splice(0)) work.dropped();
    else if (later.length > 0) void hooks.track(runLater(later.splice(0))).catch(hooks.report);
  };
  root.executionPromise.then(settled, settled);
}

async function runWork(root: Knex.Transaction, registered: Registered[], later: CommitWork[]): Promise<void> {
  // Only called once COMMIT has succeeded: whatever the promise settles with now, the data is committed.
  committedRoots.add(root);
  const failures: AfterCommitFailure[] = [];
  let total = 0;
  const connection = await (
    root as unknown as { client: { acquireConnection(): Promise<unknown> } }
  ).client.acquireConnection();
  const hold: HeldConnection = { config: knexConfigOf(root), connection, active: true, turn: Promise.resolve() };
  try {
    await holding.run(hold, async () => {
      for (const { work, inner } of registered.splice(0)) {
        if (!(await allCommitted(inner))) {
          work.dropped();
          continue;
        }
        if (work.runsCode) {
          later.push(work);
          continue;
        }
        total++;
        try {
          await work.committed();
        } catch (error) {
          failures.push({ what: work.what, error });
        }
      }
      // A push started in the work and not awaited by it still gets the connection before knex takes it back.
      for (let turn = hold.turn; ; turn = hold.turn) {
        await turn;
        if (turn === hold.turn) break;
      }
    });
  } finally {
    hold.active = false;
  }
  if (failures.length > 0) throw new AfterCommitError(failures, total);
}

/** Runs the work kept for after the transaction settled, in order, each even when one before it failed. */
async function runLater(work: readonly CommitWork[]): Promise<void> {
  const failures: AfterCommitFailure[] = [];
  for (const piece of work) {
    try {
      await piece.committed();
    } catch (error) {
      failures.push({ what: piece.what, error });
    }
  }
  if (failures.length > 0) throw new AfterCommitError(failures, work.length);
}

/**
 * While after-commit work runs, for `knex` of the same knex instance (the same pool) as the
 * committed transaction: runs `use` on the connection that transaction still holds, after every
 * use queued before it has ended, and resolves to its result. knex gives the connection back only
 * once the transaction's promise settles, which waits for the work: a push on that pool must use
 * this connection, or it could wait for itself (SQLite has one connection; a busy pool none
 * free). Uses take turns: two pushes started together (`Promise.all` in a `JobQueued` listener)
 * would otherwise open their transactions on one connection at once. Elsewhere, or when the
 * work has ended by the time the turn comes, runs `otherwise`.
 */
export function onHeldConnection<T>(
  knex: Knex,
  use: (connection: unknown) => Promise<T>,
  otherwise: () => Promise<T>,
): Promise<T> {
  const hold = holding.getStore();
  if (!hold?.active || hold.config === undefined || hold.config !== knexConfigOf(knex)) return otherwise();
  const result = hold.turn.then(() => (hold.active ? use(hold.connection) : otherwise()));
  hold.turn = result.then(
    () => undefined,
    () => undefined,
  );
  return result;
}
