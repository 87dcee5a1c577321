import { describe, expect, it } from 'vitest';

import { parseExposition } from '../helpers/prometheus-text.js';

// The scrape test trusts this parser to say "every family has HELP and TYPE": it must see a
// family without them, and refuse what is not the text format.
describe('parseExposition (test helper)', () => {
  it('groups a histogram’s samples under its family, with HELP, TYPE, labels and values', () => {
    const families = parseExposition(
      [
        '# HELP errand_job_wait_seconds Seconds from available to claimed.',
        '# TYPE errand_job_wait_seconds histogram',
        'errand_job_wait_seconds_bucket{le="0.5",job="A \\"quoted\\"\\\\ name"} 2',
        'errand_job_wait_seconds_bucket{le="+Inf",job="A \\"quoted\\"\\\\ name"} 3',
        'errand_job_wait_seconds_sum{job="A \\"quoted\\"\\\\ name"} 1.25',
        'errand_job_wait_seconds_count{job="A \\"quoted\\"\\\\ name"} 3 1700000000000',
        '',
      ].join('\n'),
    );
    expect([...families.keys()]).toEqual(['errand_job_wait_seconds']);
    const wait = families.get('errand_job_wait_seconds')!;
    expect(wait.help).toBe('Seconds from available to claimed.');
    expect(wait.type).toBe('histogram');
    expect(wait.samples.map((s) => [s.name, s.labels.le, s.value])).toEqual([
      ['errand_job_wait_seconds_bucket', '0.5', 2],
      ['errand_job_wait_seconds_bucket', '+Inf', 3],
      ['errand_job_wait_seconds_sum', undefined, 1.25],
      ['errand_job_wait_seconds_count', undefined, 3],
    ]);
    expect(wait.samples[0]!.labels.job).toBe('A "quoted"\\ name');
  });

  it('a sample of no declared family is a family without HELP and TYPE', () => {
    const families = parseExposition('# TYPE a_total counter\na_total 1\nb_total{x="1"} 2\n');
    expect(families.get('b_total')).toEqual({ samples: [{ name: 'b_total', labels: { x: '1' }, value: 2 }] });
  });

  it.each([
    ['a broken label set', 'a_total{x="1" 2'],
    ['an unquoted label value', 'a_total{x=1} 2'],
    ['a value that is no number', 'a_total one'],
    ['a repeated series', 'a_total{x="1"} 1\na_total{x="1"} 2'],
    ['a TYPE after the samples', 'a_total 1\n# TYPE a_total counter'],
    ['an unknown TYPE', '# TYPE a_total countr'],
  ])('refuses %s', (_, text) => {
    expect(() => parseExposition(text)).toThrow(/line \d+/);
  });
});
