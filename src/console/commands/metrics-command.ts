import type { Command } from 'commander';

import { ConfigError } from '../../errors/config-error.js';
import { registerErrandMetrics } from '../../metrics/errand-metrics.js';
import { renderExposition } from '../../metrics/exposition.js';
import { loadPromClient } from '../../metrics/load-prom-client.js';
import { METRIC } from '../../metrics/metric-names.js';
import { shutdown } from '../../runtime/boot.js';
import { bootFromCommand } from '../boot-from-cli.js';
import { nameList } from '../parse-options.js';

/**
 * `errand metrics [--connection a,b] [--openmetrics]`: errand's Prometheus families once, on
 * stdout, then exit. This process dispatched and ran nothing, so its counters are empty; what it
 * shows is the families themselves and the depth gauges, which it samples once itself instead of
 * waiting for the sampler lease (decision 0074): a look from a shell or a cron job.
 */
export function registerMetricsCommand(program: Command): void {
  program
    .command('metrics')
    .description("Print errand's Prometheus metrics once (depth gauges sampled now) and exit")
    .option(
      '--connection <names>',
      'the connections whose queues are sampled (comma-separated; default: all)',
      nameList('--connection'),
    )
    .option('--openmetrics', 'print the OpenMetrics text format instead of Prometheus text 0.0.4', false)
    .action(async (flags: { connection?: string[]; openmetrics: boolean }, command: Command) => {
      const app = await bootFromCommand(command);
      try {
        for (const name of flags.connection ?? []) {
          if (!Object.hasOwn(app.config.connections, name)) {
            throw new ConfigError(
              `--connection: no connection is named [${name}]; the config has ${Object.keys(app.config.connections).join(', ')}.`,
            );
          }
        }
        const registry = new (loadPromClient().Registry)();
        // Sampled once, now, by this process: no lease to wait for, no timer left behind.
        const metrics = registerErrandMetrics(registry, {
          depth: { elect: false, timer: false, ...(flags.connection ? { connections: flags.connection } : {}) },
        });
        try {
          await metrics.depth?.sampleNow();
          const { body } = await renderExposition(registry, flags.openmetrics);
          process.stdout.write(body);
          // A connection whose sample failed (named in the report on stderr) fails the command,
          // so a cron job or a shell script sees it.
          const up = await registry.getSingleMetric(METRIC.depthSampleUp)?.get();
          const down = (up?.values ?? []).filter(({ value }) => value === 0).map(({ labels }) => labels.connection);
          if (down.length > 0) {
            process.stderr.write(
              `errand metrics: the depth sample of ${down.map((c) => `[${String(c)}]`).join(', ')} failed.\n`,
            );
            process.exitCode = 1;
          }
        } finally {
          metrics.stop();
        }
      } finally {
        await shutdown();
      }
    });
}
