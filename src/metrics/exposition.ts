import type { Metric, Registry, RegistryContentType } from 'prom-client';

import { loadPromClient } from './load-prom-client.js';

/** A rendered scrape: the body and the Content-Type it is in. */
export interface Exposition {
  readonly body: string;
  readonly contentType: string;
}

/** Whether an Accept header asks for OpenMetrics (Prometheus itself asks for it first). */
export function wantsOpenMetrics(accept: string | null | undefined): boolean {
  return accept !== null && accept !== undefined && accept.includes('application/openmetrics-text');
}

/**
 * Renders `registry` in the Prometheus text format 0.0.4, or in OpenMetrics 1.0 when asked.
 * prom-client renders OpenMetrics only for a registry made for it, and renaming the counters it
 * renders on the way (`x_total` becomes `x`, for good), which would break every later text
 * scrape: so an OpenMetrics scrape goes through a registry of its own holding read-only views of
 * the metrics, named as OpenMetrics names their families. A registry made for OpenMetrics is
 * rendered as it is.
 */
export async function renderExposition(
  registry: Registry<RegistryContentType>,
  openMetrics: boolean,
): Promise<Exposition> {
  const { Registry: RegistryClass } = loadPromClient();
  if (registry.contentType === RegistryClass.OPENMETRICS_CONTENT_TYPE || !openMetrics)
    return { body: await registry.metrics(), contentType: registry.contentType };
  // prom-client's typings omit the constructor's content type argument.
  const view = new (RegistryClass as unknown as new (type: string) => Registry<RegistryContentType>)(
    RegistryClass.OPENMETRICS_CONTENT_TYPE,
  );
  for (const metric of registry.getMetricsAsArray()) view.registerMetric(openMetricsView(metric));
  return { body: await view.metrics(), contentType: view.contentType };
}

/** A metric as OpenMetrics names it: a counter's family drops `_total`, which its samples keep. */
function openMetricsView(metric: object): Metric {
  const source = metric as unknown as {
    name: string;
    type: string;
    get(): Promise<{ name: string }>;
    getForPromString?(): Promise<{ name: string }>;
  };
  const name = source.type === 'counter' ? source.name.replace(/_total$/, '') : source.name;
  const renamed = async (read: () => Promise<{ name: string }>) => ({ ...(await read()), name });
  const view = {
    name,
    type: source.type,
    get: () => renamed(() => source.get()),
    ...(source.getForPromString ? { getForPromString: () => renamed(() => source.getForPromString!()) } : {}),
  };
  return view as unknown as Metric;
}
