export default {
  default: 'database',
  connections: {
    database: { driver: 'database', client: 'better-sqlite3', connection: './app.sqlite' },
    notifications: {
      driver: 'database',
      client: 'better-sqlite3',
      connection: './notifications.sqlite',
      queue: 'mail',
    },
  },
  bootstrap: './listeners.mjs',
};
