export default {
  default: 'database',
  connections: { database: { driver: 'database', client: 'better-sqlite3', connection: './recommendations.sqlite' } },
  bootstrap: './jobs.mjs',
};
