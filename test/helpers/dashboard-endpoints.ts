import type { BatchBody, JobBody, PageBody } from '../../src/dashboard/api-types.js';
import { RARE_EXCEPTION_TEXT, SEEDED_JOBS } from './dashboard-seed.js';

/** One GET of the dashboard's API: a name for reports and its path under the mount. */
export interface EndpointProbe {
  readonly label: string;
  /** Relative to the mount (`api/overview`). */
  readonly path: string;
}

/**
 * Every GET of the API on tables seeded by dashboard-seed.ts: each listing unfiltered, by queue,
 * by a common and a rare job name (and exception text), its second page, and one detail of each
 * kind, found through the listings (`get` answers a path's JSON).
 */
export async function dashboardEndpoints(get: (path: string) => Promise<unknown>): Promise<EndpointProbe[]> {
  const [common, rare] = [SEEDED_JOBS[1], SEEDED_JOBS[2]];
  const probes: EndpointProbe[] = [
    { label: 'api/overview', path: 'api/overview' },
    { label: 'api/queues', path: 'api/queues' },
    { label: 'api/workers', path: 'api/workers' },
  ];
  for (const state of ['pending', 'delayed', 'reserved'] as const)
    probes.push({ label: `api/jobs?state=${state}`, path: `api/jobs?state=${state}` });
  probes.push(
    { label: 'api/jobs?state=pending&queue=', path: 'api/jobs?state=pending&queue=emails' },
    { label: 'api/jobs?state=pending&job=common', path: `api/jobs?state=pending&job=${common}` },
    { label: 'api/jobs?state=pending&job=rare', path: `api/jobs?state=pending&job=${rare}` },
  );
  const pending = (await get('api/jobs?state=pending')) as PageBody<JobBody>;
  if (pending.next)
    probes.push({
      label: 'api/jobs?state=pending&cursor=',
      path: `api/jobs?state=pending&cursor=${encodeURIComponent(pending.next)}`,
    });
  const job = pending.items[0];
  if (job) probes.push({ label: 'api/jobs/:id', path: `api/jobs/${encodeURIComponent(job.id)}` });
  probes.push(
    { label: 'api/failed', path: 'api/failed' },
    { label: 'api/failed?queue=', path: 'api/failed?queue=reports' },
    { label: 'api/failed?job=common', path: `api/failed?job=${common}` },
    { label: 'api/failed?job=rare', path: `api/failed?job=${rare}` },
    { label: 'api/failed?text=common', path: `api/failed?text=${encodeURIComponent('SMTP 421')}` },
    { label: 'api/failed?text=rare', path: `api/failed?text=${encodeURIComponent(RARE_EXCEPTION_TEXT)}` },
  );
  const failed = (await get('api/failed')) as PageBody<JobBody>;
  if (failed.next)
    probes.push({ label: 'api/failed?cursor=', path: `api/failed?cursor=${encodeURIComponent(failed.next)}` });
  const record = failed.items[0];
  if (record?.uuid) probes.push({ label: 'api/failed/:uuid', path: `api/failed/${encodeURIComponent(record.uuid)}` });
  probes.push({ label: 'api/batches', path: 'api/batches' });
  const batch = ((await get('api/batches')) as PageBody<BatchBody>).items[0];
  if (batch) probes.push({ label: 'api/batches/:id', path: `api/batches/${encodeURIComponent(batch.id)}` });
  for (const range of ['1h', '24h', '7d'])
    probes.push({ label: `api/metrics?range=${range}`, path: `api/metrics?range=${range}` });
  probes.push(
    { label: 'api/metrics?range=7d&queue=', path: 'api/metrics?range=7d&queue=emails' },
    { label: 'api/metrics?range=7d&job=', path: `api/metrics?range=7d&job=${common}` },
  );
  return probes;
}
