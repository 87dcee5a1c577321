export default {
  default: 'database',
  connections: { database: { driver: 'database', client: 'better-sqlite3', connection: './tracking.sqlite' } },
  bootstrap: './jobs.mjs',
};
