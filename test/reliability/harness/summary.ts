import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';

import { FULL, RESULTS_FILE, type ScenarioResult } from './scale.js';

/** Vitest global setup: starts the run's summary empty, and prints it as a table when the run ends. */
export default function setup(): () => void {
  rmSync(RESULTS_FILE, { force: true });
  return () => {
    if (!existsSync(RESULTS_FILE)) return;
    const rows = readFileSync(RESULTS_FILE, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ScenarioResult);
    const cpus = os.cpus();
    const header = [
      'scenario',
      'engine',
      'jobs',
      'executions',
      'duplicates',
      'lost',
      'max reserved (s)',
      'restarts',
      'time (s)',
    ];
    const body = rows.map((r) => [
      r.scenario,
      r.engine,
      String(r.jobs),
      String(r.executions),
      String(r.duplicates),
      String(r.lost),
      r.maxReservedMs === undefined ? '—' : (r.maxReservedMs / 1000).toFixed(1),
      r.restarts === undefined ? '—' : String(r.restarts),
      r.seconds.toFixed(0),
    ]);
    const lines = [header, header.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`);
    console.log(
      `\nReliability summary (${FULL ? 'RELIABILITY_SCALE=full' : 'CI sizes'}), ${new Date().toISOString().slice(0, 10)}, ` +
        `${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}\n\n${lines.join('\n')}\n`,
    );
  };
}
