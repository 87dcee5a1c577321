import { describe, expect, it } from 'vitest';

import { Job } from '../../src/decorators/job.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, shutdown } from '../../src/runtime/boot.js';

/* `this.job` inside handle(): always there while the job runs, a clear error anywhere else. */

const seen: string[] = [];

@Job()
class JiReportRow extends Queueable {
  async handle(): Promise<void> {
    // Typed JobInfo, not JobInfo | undefined: no `?.` or `!` needed under strict.
    const id: string = this.job.id;
    seen.push(
      `${this.job.displayName} ${this.job.connection}/${this.job.queue} attempt ${this.job.attempts} id ${id.length > 0}`,
    );
  }
}

describe('this.job', () => {
  it('holds the attempt under dispatchSync() and after withFakeQueueInteractions()', async () => {
    seen.length = 0;
    await boot({ default: 'null', connections: { null: { driver: 'null' } } });
    try {
      await JiReportRow.dispatchSync();
    } finally {
      await shutdown();
    }
    await new JiReportRow().withFakeQueueInteractions().handle();
    expect(seen).toEqual(['JiReportRow sync/sync attempt 1 id true', 'JiReportRow fake/default attempt 1 id true']);
  });

  it('throws outside an attempt, naming the job and where it is set', async () => {
    const job = new JiReportRow();
    expect(() => job.job).toThrow(
      'JiReportRow.job is only set while the job runs (in handle(), its middleware and failed(), on a worker, the sync connection, dispatchSync(), or after withFakeQueueInteractions()); there is no attempt here.',
    );
    await expect(job.handle()).rejects.toThrow(/^JiReportRow\.job is only set while the job runs/);
  });
});
