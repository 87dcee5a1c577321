import { describe, expect, it } from 'vitest';

import type { StoredFailedJob } from '../../src/contracts/failed-job-store.js';
import { DEFAULT_REDACT } from '../../src/dashboard/dashboard-options.js';
import { failedJobBody } from '../../src/dashboard/job-bodies.js';
import { REDACTED, redactPayload } from '../../src/dashboard/redact-payload.js';

/*
 * What the dashboard hides with the default `redact` list: every shape a secret takes in a job's
 * data (keys, header pairs, name/value objects, URLs and form text inside strings), and the same
 * secrets echoed by a failed job's exception, in the listing's first line and in the detail.
 */

const data = {
  headers: [
    ['Authorization', 'Bearer T1-aaaa'],
    ['Accept', 'text/html'],
  ],
  named: [
    { name: 'Authorization', value: 'Bearer T2-bbbb' },
    { name: 'Accept', value: 'json' },
  ],
  keyed: { key: 'X-Api-Cookie', value: 'C3-cccc' },
  dsn: 'postgres://u:SECRETPW@h/db',
  form: 'password=P4&x=1',
  passwd: 'PW5-dddd',
  pwd: 'PW6-eeee',
  credentials: { user: 'bob', pass: 'PW7-ffff' },
  cookie: 'sid=S8-gggg',
  note: 'nothing secret',
};
const payload = JSON.stringify({ displayName: 'App\\Jobs\\Sync', data });
const secrets = ['T1-aaaa', 'T2-bbbb', 'C3-cccc', 'SECRETPW', 'P4&', 'PW5-dddd', 'PW6-eeee', 'PW7-ffff', 'S8-gggg'];

describe('redactPayload with the default list', () => {
  const shown = redactPayload(payload, DEFAULT_REDACT) as { data: typeof data };
  const text = JSON.stringify(shown);

  it('hides every secret-shaped value', () => {
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it('keeps the names and the values that are not secret', () => {
    expect(shown.data.headers).toEqual([
      ['Authorization', REDACTED],
      ['Accept', 'text/html'],
    ]);
    expect(shown.data.named).toEqual([
      { name: 'Authorization', value: REDACTED },
      { name: 'Accept', value: 'json' },
    ]);
    expect(shown.data.dsn).toBe(`postgres://u:${REDACTED}@h/db`);
    expect(shown.data.form).toBe(`password=${REDACTED}&x=1`);
    expect(shown.data.note).toBe('nothing secret');
    expect(shown.data.passwd).toBe(REDACTED);
    expect(shown.data.pwd).toBe(REDACTED);
    expect(shown.data.credentials).toBe(REDACTED);
    expect(shown.data.cookie).toBe(REDACTED);
  });
});

describe('a failed job’s exception', () => {
  const exception = [
    `Error: sync failed for ${JSON.stringify(data)} with PW5-dddd`,
    '    at connect (postgres://u:SECRETPW@h/db) token=T9-zzzz',
    '    at run (job.ts:1:1)',
  ].join('\n');
  const record: StoredFailedJob = {
    id: '1',
    uuid: 'u-1',
    connection: 'database',
    queue: 'default',
    payload,
    exception,
    failedAt: new Date(0),
  };

  it('lists its first line without the payload’s secrets', () => {
    const listed = failedJobBody(record, DEFAULT_REDACT);
    expect(listed.exception).toContain('Error: sync failed');
    expect(listed.exception).not.toContain('\n');
    for (const secret of secrets) expect(listed.exception).not.toContain(secret);
    expect(listed.payload).toBeUndefined();
  });

  it('shows the whole text in the detail without the secrets or credentials', () => {
    const shown = failedJobBody(record, DEFAULT_REDACT, true);
    expect(shown.exception).toContain('at run (job.ts:1:1)');
    expect(shown.exception).toContain('nothing secret');
    for (const secret of [...secrets, 'T9-zzzz']) expect(shown.exception).not.toContain(secret);
    expect(JSON.stringify(shown)).not.toContain('SECRETPW');
  });
});
