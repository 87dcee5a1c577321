import { describe, expect, it } from 'vitest';

import { formatDuration, formatJobLine } from '../../src/worker/format-job-line.js';
import { stopReason, stopStatus } from '../../src/worker/stop-conditions.js';
import { WORKER_DEFAULTS } from '../../src/worker/worker-options.js';
import { DURATION } from '../helpers/worker-line.js';

describe('stopReason', () => {
  const state = {
    stopRequested: false,
    restartRequested: false,
    jobsProcessed: 0,
    drained: false,
    idleMs: 0,
    startedAt: 0,
    now: 0,
    memoryMb: 10,
  };
  it('follows Laravel’s order and statuses', () => {
    expect(stopReason(WORKER_DEFAULTS, state)).toBeUndefined();
    expect(stopReason(WORKER_DEFAULTS, { ...state, stopRequested: true, memoryMb: 999 })).toBe('interrupted');
    expect(stopReason(WORKER_DEFAULTS, { ...state, memoryMb: 256 })).toBe('memory');
    expect(stopStatus('memory')).toBe(12);
    expect(stopStatus('empty')).toBe(0);
    expect(stopReason({ ...WORKER_DEFAULTS, once: true }, state)).toBeUndefined();
    expect(stopReason({ ...WORKER_DEFAULTS, once: true }, { ...state, jobsProcessed: 1 })).toBe('once');
    expect(stopReason({ ...WORKER_DEFAULTS, once: true }, { ...state, drained: true })).toBe('once');
    expect(stopReason(WORKER_DEFAULTS, { ...state, restartRequested: true })).toBe('restart_signal');
    expect(
      stopReason({ ...WORKER_DEFAULTS, stopWhenEmptyFor: 5 }, { ...state, drained: true, idleMs: 4999 }),
    ).toBeUndefined();
    expect(stopReason({ ...WORKER_DEFAULTS, stopWhenEmptyFor: 5 }, { ...state, drained: true, idleMs: 5000 })).toBe(
      'empty_for',
    );
    expect(stopReason({ ...WORKER_DEFAULTS, stopWhenEmpty: true }, state)).toBeUndefined();
    expect(stopReason({ ...WORKER_DEFAULTS, stopWhenEmpty: true }, { ...state, drained: true })).toBe('empty');
    expect(stopReason({ ...WORKER_DEFAULTS, maxTime: 2 }, { ...state, now: 2000 })).toBe('max_time');
    expect(stopReason({ ...WORKER_DEFAULTS, maxJobs: 3 }, { ...state, jobsProcessed: 3 })).toBe('max_jobs');
  });
});

describe('formatJobLine', () => {
  it('fills dots to the width and prints the duration and status without colour off a TTY', () => {
    const time = new Date(2026, 10, 22, 9, 5, 7);
    const running = formatJobLine({
      time,
      name: 'AddToCart',
      status: 'RUNNING',
      tone: 'running',
      width: 60,
      colour: false,
    });
    expect(running).toBe(`  2026-11-22 09:05:07 AddToCart ${'.'.repeat(20)} RUNNING`);
    expect(running).toHaveLength(60);
    const done = formatJobLine({
      time,
      name: 'AddToCart',
      status: 'DONE',
      tone: 'done',
      durationMs: 12.345,
      width: 60,
      colour: false,
    });
    expect(done).toHaveLength(60);
    expect(done.endsWith(' 12.35ms DONE')).toBe(true);
  });

  it('formats durations as Laravel does', () => {
    expect(formatDuration(3.2)).toBe('3.20ms');
    expect(formatDuration(1234)).toBe('1s 234ms');
    expect(formatDuration(125_000)).toBe('2m 5s');
  });

  it('every form is matched by the DURATION the integration tests read worker lines with (a job may take a second on a slow machine)', () => {
    const duration = new RegExp(`^${DURATION}$`);
    for (const ms of [0, 3.2, 999.994, 1000, 1234, 59_999, 60_000, 125_000])
      expect(formatDuration(ms)).toMatch(duration);
  });
});
