export default {
  default: 'database',
  connections: { database: { driver: 'database', client: 'better-sqlite3', connection: './analytics.sqlite' } },
  bootstrap: './jobs.mjs',
};
