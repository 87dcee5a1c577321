import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/*
 * A CPU profile of one part of a scenario (node --cpu-prof covers the whole process: start-up,
 * migrations and the fill drown the drain), and a summary of where a profile's time went.
 */

/** Runs `work` under the V8 profiler of this thread when `file` is given, writing a .cpuprofile there. */
export async function profiled<T>(file: string | undefined, work: () => Promise<T>): Promise<T> {
  if (!file) return work();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Self time by package or source folder, and by function, the `top` largest of each, as text. */
export function summarizeProfile(file: string, top = 25): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const frame = nodes.get(id)!.callFrame;
    total += us;
    // Paths relative to what holds them: node_modules, the bench's build of src/, the repository.
    const url = frame.url.includes('/node_modules/')
      ? frame.url.replace(/^.*\/node_modules\//, '')
      : frame.url.replace(/^file:\/\/.*\/test\/bench\/\.build\//, '').replace(/^file:\/\/.*?\/(src|test)\//, '$1/');
    const parts = url.split('/');
    // A package (scoped or not), a folder of errand's sources, a node: module, or V8's own entries.
    const module = !url
      ? frame.functionName
      : url.startsWith('node:')
        ? url
        : /^(@|src\/|test\/)/.test(url)
          ? parts.slice(0, 2).join('/')
          : parts[0]!;
    byModule.set(module, (byModule.get(module) ?? 0) + us);
    const name = `${frame.functionName || '(anonymous)'} ${url}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  });
  const list = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([key, us]) =>
          `${(us / 1000).toFixed(1).padStart(9)} ms ${((us / total) * 100).toFixed(1).padStart(5)}%  ${key}`,
      );
  return [
    `${(total / 1000).toFixed(0)} ms sampled`,
    '-- self time by package or folder',
    ...list(byModule),
    '-- self time by function',
    ...list(byFunction),
  ].join('\n');
}

// By hand: node test/bench/.build/test/bench/cpu-profile.js <file.cpuprofile> [top]
if (process.argv[1]?.endsWith('cpu-profile.js') && process.argv[2])
  process.stdout.write(`${summarizeProfile(process.argv[2], Number(process.argv[3] ?? 25))}\n`);
