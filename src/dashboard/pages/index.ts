// The pages' entry for the HTTP core (src/dashboard/create-dashboard.ts): the core has routed and
// authorized the request; `renderPage` reads the page's data through `context.api` (the same
// methods the JSON API answers with) and returns the whole document, or only `<main>`'s content
// for the client script's live refresh.

import { JOB_STATES, type JobState } from '../../contracts/queue-inspector.js';
import type { MetricsQueryParams } from '../dashboard-api.js';
import { DashboardHttpError } from '../dashboard-api.js';
import type { PageContext } from '../page-context.js';
import { batchesPage, batchPage } from './batches-page.js';
import { failedPage } from './failed-page.js';
import { jobPage } from './job-page.js';
import { jobsPage } from './jobs-page.js';
import { layout, mainContent, type PageContent } from './layout.js';
import { metricsPage } from './metrics-page.js';
import { overviewPage } from './overview-page.js';
import { queuesPage } from './queues-page.js';
import { workersPage } from './workers-page.js';

const RANGES: readonly MetricsQueryParams['range'][] = ['1h', '24h', '7d'];

function param(query: URLSearchParams, name: string): string | undefined {
  return query.get(name)?.trim() || undefined;
}

/** A query value that must be one of `allowed`; a 400 naming the parameter otherwise. */
function oneOf<T extends string>(query: URLSearchParams, name: string, allowed: readonly T[], fallback: T): T {
  const value = param(query, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new DashboardHttpError(
      400,
      `The ${name} parameter must be one of ${allowed.join(', ')}; got "${value}".`,
      name,
    );
  }
  return value as T;
}

function required(context: PageContext, name: string): string {
  const value = context.params[name];
  if (value === undefined) throw new DashboardHttpError(404, `The ${context.page} page needs a ${name}.`);
  return value;
}

async function content(context: PageContext): Promise<PageContent> {
  const { api, query } = context;
  const connection = param(query, 'connection');
  switch (context.page) {
    case 'overview': {
      const body = await api.overview();
      return { ...overviewPage(body), errors: body.errors };
    }
    case 'queues': {
      const listed = await api.queues();
      return { ...queuesPage(context, listed.items), errors: listed.errors };
    }
    case 'jobs': {
      const q = {
        state: oneOf<JobState>(query, 'state', JOB_STATES, 'pending'),
        connection,
        queue: param(query, 'queue'),
        job: param(query, 'job'),
        cursor: param(query, 'cursor'),
      };
      const page = await api.jobs(q);
      return { ...jobsPage(q, page), errors: page.errors };
    }
    case 'job':
      return jobPage(context, await api.job(connection ?? api.defaultConnection, required(context, 'id')));
    case 'failed': {
      const q = {
        connection,
        queue: param(query, 'queue'),
        job: param(query, 'job'),
        text: param(query, 'text'),
        cursor: param(query, 'cursor'),
      };
      return failedPage(context, q, await api.failed(q));
    }
    case 'failed-job':
      return jobPage(context, await api.failedJob(required(context, 'uuid')));
    case 'batches':
      return batchesPage(await api.batches(param(query, 'cursor')));
    case 'batch':
      return batchPage(context, await api.batch(required(context, 'id')));
    case 'workers': {
      const listed = await api.workers();
      return { ...workersPage(listed.items), errors: listed.errors };
    }
    case 'metrics': {
      const q = { range: oneOf(query, 'range', RANGES, '1h'), queue: param(query, 'queue'), job: param(query, 'job') };
      const body = await api.metrics(q);
      return { ...metricsPage(q, body), errors: body.errors };
    }
  }
}

/** Renders the page the context names: the whole document, or `<main>`'s content when `context.fragment`. */
export async function renderPage(context: PageContext): Promise<string> {
  const page = await content(context);
  return context.fragment ? mainContent(page).value : layout(context, page);
}
