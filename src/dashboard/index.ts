// errand/dashboard: the dashboard and its HTTP API, mountable in any Node server.
export type {
  ActionBody,
  BatchBody,
  ErrorBody,
  JobBody,
  MetricsBody,
  MetricsSeries,
  OverviewBody,
  PageBody,
  PushBody,
  PushedJobBody,
  QueueBody,
  WorkerBody,
} from './api-types.js';
export { createDashboard, type DashboardHandler } from './create-dashboard.js';
export type {
  DashboardActions,
  DashboardApi,
  DashboardData,
  FailedQuery,
  FailedSelection,
  JobsQuery,
  MetricsQueryParams,
} from './dashboard-api.js';
export { DashboardHttpError } from './dashboard-api.js';
export { type BasicAuthCredentials, type DashboardOptions, DEFAULT_REDACT } from './dashboard-options.js';
export { type NodeDashboardHandler, toNodeHandler } from './node-handler.js';
export { signPushBody } from './push/authenticate-push.js';
