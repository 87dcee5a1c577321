import type { Knex } from 'knex';

import type { StoreTransaction } from '../../contracts/queue.js';

/**
 * The knex transaction behind a store transaction of a database connection: the only kind this
 * driver hands out (finishing writes, `BatchRepository.transaction`) or is handed by the
 * application (`withTransaction(trx)`).
 */
export function knexTransaction(trx: StoreTransaction): Knex.Transaction {
  return trx as Knex.Transaction;
}

/**
 * The config a knex instance was made from. A transaction's own client shares its instance's, so
 * two handles with the same config reach the same pool (and database).
 */
export function knexConfigOf(knex: Knex): unknown {
  return (knex as unknown as { client?: { config?: unknown } }).client?.config;
}
