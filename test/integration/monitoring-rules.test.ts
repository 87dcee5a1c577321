import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { METRIC, PROCESSED_OUTCOMES } from '../../src/metrics/metric-names.js';
import { describeWithPrometheus, promtool } from '../helpers/prometheus-server.js';
import { ROOT } from '../helpers/run-cli.js';

const MONITORING = path.join(ROOT, 'docs/monitoring');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

const HISTOGRAMS: string[] = [METRIC.duration, METRIC.wait];
/** Every series name errand's exposition can hold: the families, and a histogram's three parts. */
const SERIES = new Set<string>(
  Object.values(METRIC).flatMap((name) =>
    HISTOGRAMS.includes(name) ? [name, `${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
  ),
);

/** Every `errand_…` word of `text` (the family names; nothing else of errand's starts so). */
const namesIn = (text: string) => [...text.matchAll(/\berrand_[a-z0-9_]+/g)].map((m) => m[0]);

interface GrafanaDashboard {
  panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
  templating: { list: Array<{ name: string; type: string; definition?: string }> };
}

const dashboard = JSON.parse(read('docs/monitoring/grafana-dashboard.json')) as GrafanaDashboard;
const panelQueries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
const variableQueries = dashboard.templating.list.filter((v) => v.type === 'query').map((v) => v.definition!);

describeWithPrometheus('docs/monitoring: alert rules and the Grafana dashboard', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-monitoring-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('promtool check rules accepts errand-alerts.yml, every alert of it', async () => {
    const result = await promtool(['check', 'rules', 'errand-alerts.yml'], { cwd: MONITORING });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const alerts = namesOfAlerts(read('docs/monitoring/errand-alerts.yml'));
    expect(alerts).toEqual([
      'ErrandOldestPendingJobTooOld',
      'ErrandBacklogGrowing',
      'ErrandJobFailureRatioHigh',
      'ErrandNoLiveWorkers',
      'ErrandFailedJobsGrowing',
      'ErrandJobsRecovered',
      'ErrandDepthSamplerAbsent',
      'ErrandDepthSampleStale',
      'ErrandDepthSampleFailing',
    ]);
    expect(result.stdout).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('promtool test rules: each alert fires on the series of errand-alerts.test.yml where it should, and only there', async () => {
    const result = await promtool(['test', 'rules', 'errand-alerts.test.yml'], { cwd: MONITORING });
    expect(`${result.stdout}${result.stderr}`).toMatch(/SUCCESS/);
    expect(result.code).toBe(0);
    // Every alert has a test that expects it to fire.
    const tests = read('docs/monitoring/errand-alerts.test.yml');
    for (const alert of namesOfAlerts(read('docs/monitoring/errand-alerts.yml')))
      expect(tests, alert).toMatch(new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:`));
  });

  it('the alert rules and their tests name only families errand exports', () => {
    for (const file of ['errand-alerts.yml', 'errand-alerts.test.yml']) {
      const names = namesIn(read(`docs/monitoring/${file}`));
      expect(names.length, file).toBeGreaterThan(0);
      expect(
        names.filter((name) => !SERIES.has(name)),
        file,
      ).toEqual([]);
    }
  });

  it('every Grafana query names only families errand exports, and together they show every family', () => {
    expect(panelQueries.length).toBeGreaterThan(10);
    expect(variableQueries).toHaveLength(3);
    const named = [...panelQueries.map((q) => q.expr), ...variableQueries].flatMap(namesIn);
    expect(named.filter((name) => !SERIES.has(name))).toEqual([]);
    const families = new Set(named.map((name) => name.replace(/_(bucket|sum|count)$/, '')));
    expect(Object.values(METRIC).filter((name) => !families.has(name))).toEqual([]);
    // The variables the queries use are the dashboard's own.
    const variables = new Set(dashboard.templating.list.map((v) => v.name));
    for (const { title, expr } of panelQueries)
      for (const [, name] of expr.matchAll(/\$(\w+)/g))
        expect(name === '__rate_interval' || variables.has(name!), `${title}: $${name}`).toBe(true);
  });

  it('every Grafana count of the depth gauges takes each connection’s max first, then sums across connections', () => {
    // max by connection merges one sampler's copies under two instances (a handover); a max
    // across connections instead would show one connection's count for the sum of all.
    const counts: string[] = [METRIC.queueJobs, METRIC.failedJobs, METRIC.workers, METRIC.busySlots];
    const counting = panelQueries.filter(({ expr }) => namesIn(expr).some((name) => counts.includes(name)));
    expect(counting.length).toBeGreaterThanOrEqual(5);
    for (const { title, expr } of counting) {
      expect(expr, title).toMatch(/^sum by \([^)]*\) \(max by \(connection, /);
    }
  });

  it('every Grafana panel query is valid PromQL (promtool parses it as a recording rule)', async () => {
    const rules = panelQueries.map(({ title, expr }, i) => ({
      record: `errand:grafana_check:${i}`,
      // Grafana fills these in before the query reaches Prometheus.
      expr: expr.replaceAll('$__rate_interval', '1m').replace(/\$(connection|queue|job)\b/g, '.*'),
      title,
    }));
    const file = path.join(dir, 'grafana-queries.yml');
    writeFileSync(
      file,
      [
        'groups:',
        '  - name: grafana',
        '    rules:',
        ...rules.flatMap((rule) => [`      - record: ${rule.record}`, `        expr: ${JSON.stringify(rule.expr)}`]),
        '',
      ].join('\n'),
    );
    const result = await promtool(['check', 'rules', file]);
    expect(`${result.stdout}${result.stderr}`).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(result.code).toBe(0);
  });

  it('a query naming no family, or an unparsable one, is caught by the checks above', async () => {
    expect(namesIn('sum(rate(errand_jobs_failed_total[5m]))').filter((name) => !SERIES.has(name))).toEqual([
      'errand_jobs_failed_total',
    ]);
    const file = path.join(dir, 'broken.yml');
    writeFileSync(
      file,
      'groups:\n  - name: broken\n    rules:\n      - record: x\n        expr: "sum by (queue (errand_workers)"\n',
    );
    const result = await promtool(['check', 'rules', file]);
    expect(result.code).not.toBe(0);
  });
});

describe('docs/monitoring.md', () => {
  const page = read('docs/monitoring.md');

  it('has a row for every family, with its type, and names no family errand does not export', () => {
    for (const name of Object.values(METRIC)) {
      const type = HISTOGRAMS.includes(name) ? 'histogram' : name.endsWith('_total') ? 'counter' : 'gauge';
      expect(page, name).toMatch(new RegExp(`^\\| \`${name}\` \\| ${type} \\|`, 'm'));
    }
    expect(namesIn(page).filter((name) => !SERIES.has(name))).toEqual([]);
  });

  it('lists every alert of errand-alerts.yml and every outcome', () => {
    for (const alert of namesOfAlerts(read('docs/monitoring/errand-alerts.yml')))
      expect(page, alert).toMatch(new RegExp(`^\\| \`${alert}\` \\|`, 'm'));
    for (const outcome of PROCESSED_OUTCOMES) expect(page, outcome).toMatch(new RegExp(`^\\| \`${outcome}\` \\|`, 'm'));
  });
});

/** The `- alert: Name` entries of a rules file, in order. */
function namesOfAlerts(rules: string): string[] {
  return [...rules.matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]!);
}
