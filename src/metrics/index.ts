// errand/metrics: errand's Prometheus families, their registration and their HTTP exposition.
// Everything that needs prom-client's types lives behind this entry; the main entry never loads it.
export { type DepthGaugeOptions, type DepthGauges, registerDepthGauges } from './depth-gauges.js';
export {
  type ErrandMetrics,
  type RegisterErrandMetricsOptions,
  registerErrandMetrics,
} from './errand-metrics.js';
export {
  DURATION_BUCKETS,
  METRIC,
  PROCESSED_OUTCOMES,
  type ProcessedOutcome,
  WAIT_BUCKETS,
} from './metric-names.js';
export {
  type MetricsHandler,
  type MetricsHandlerOptions,
  metricsHandler,
  type NodeMetricsHandler,
} from './metrics-handler.js';
