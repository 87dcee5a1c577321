import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { DatabaseUnreachableError } from '../../src/errors/database-unreachable-error.js';
import { MissingTableError } from '../../src/errors/missing-table-error.js';
import { boot, shutdown } from '../../src/runtime/errand.js';
import { AddToBufferJob } from '../fixtures/jobs/fixture-jobs.js';
import { describeEachEngine, freshDatabase } from '../helpers/databases.js';

describe('a database that cannot be reached', () => {
  afterEach(() => shutdown());

  it.each([
    ['mysql2', 'mysql://root@127.0.0.1:1/test', 'mysql2 at 127.0.0.1:1/test'],
    ['pg', 'postgres://postgres@127.0.0.1:1/test', 'pg at 127.0.0.1:1/test'],
  ] as const)('%s: the error names the connection, host:port and the driver message', async (client, url, where) => {
    await boot({ connections: { main: { driver: 'database', client, connection: url } } });
    const error = await AddToBufferJob.dispatch('x').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DatabaseUnreachableError);
    expect((error as Error).message).toContain(`Cannot reach the database of queue connection [main] (${where})`);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });
});

await describeEachEngine('tables not migrated yet', (engine) => {
  beforeAll(async () => {
    await boot({ connections: { database: await freshDatabase(engine, 'unmigrated') } });
  });
  afterAll(() => shutdown());

  it('tells the user to run errand migrate', async () => {
    const error = await AddToBufferJob.dispatch('x').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MissingTableError);
    expect((error as Error).message).toMatch(/^Table \[jobs\] does not exist on queue connection \[database\] \(.+\); run `errand migrate`\.$/);
  });
});
