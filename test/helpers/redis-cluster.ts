import { type PrivateRedis, startPrivateRedis, waitFor } from './private-redis.js';

/** A local Redis Cluster of a test's own: three masters, no replicas, every slot assigned. */
export interface PrivateRedisCluster {
  /** The masters, each a private redis-server with its own port and directory. */
  readonly nodes: readonly PrivateRedis[];
  /** `redis://127.0.0.1:<port>` of every node: the seed URLs a `cluster: { nodes }` option takes. */
  readonly urls: readonly string[];
  /** The master that holds `key`'s slot. */
  nodeOf(key: string): Promise<PrivateRedis>;
  /** Stops every node and removes their directories; safe to call twice. */
  stop(): Promise<void>;
}

const MASTERS = 3;

/**
 * Starts three redis-server processes with `--cluster-enabled yes` on free loopback ports, joins
 * them with `redis-cli --cluster create … --cluster-replicas 0`, and waits until every node
 * reports `cluster_state:ok` and knows the other two. Whatever it started is stopped and removed
 * again when any step fails.
 */
export async function startRedisCluster(): Promise<PrivateRedisCluster> {
  const nodes: PrivateRedis[] = [];
  const stop = async () => {
    const errors = (await Promise.allSettled(nodes.map((node) => node.stop()))).flatMap((r) =>
      r.status === 'rejected' ? [r.reason as unknown] : [],
    );
    if (errors.length) throw new AggregateError(errors, 'Could not stop every node of the test cluster.');
  };
  try {
    // One at a time: each node checks its own port and bus port, and parallel probes could pick
    // neighbouring ports whose buses collide.
    for (let i = 0; i < MASTERS; i++) {
      nodes.push(
        await startPrivateRedis({
          cluster: true,
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'],
        }),
      );
    }
    const addresses = nodes.map((node) => `${node.host}:${node.port}`);
    // --cluster-yes answers the "accept this configuration?" question; the piped "yes" does the
    // same for a redis-cli too old to know the flag.
    const created = await nodes[0]!.cli(
      ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
      'yes\n',
    );
    if (created.code !== 0 || !created.stdout.includes('All 16384 slots covered'))
      throw new Error(
        `redis-cli --cluster create ${addresses.join(' ')} exited with ${created.code}:\n${created.stdout}${created.stderr}`,
      );
    for (const node of nodes) {
      let last = '';
      await waitFor(`cluster_state:ok on ${node.host}:${node.port}`, async () => {
        last = (await node.cli(['cluster', 'info'])).stdout;
        return (
          last.includes('cluster_state:ok') &&
          last.includes(`cluster_known_nodes:${MASTERS}`) &&
          last.includes('cluster_slots_assigned:16384')
        );
      }).catch((error: Error) => {
        throw new Error(`${error.message} CLUSTER INFO said:\n${last}`);
      });
    }
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  const nodeOf = async (key: string) => {
    const slot = Number((await nodes[0]!.cli(['cluster', 'keyslot', key])).stdout.trim());
    for (const node of nodes) {
      // The `myself` line of CLUSTER NODES ends with the node's own slot ranges (`0-5460`).
      const own = (await node.cli(['cluster', 'nodes'])).stdout.split('\n').find((line) => line.includes('myself'));
      const ranges = (own ?? '').split(' ').slice(8);
      if (
        ranges.some((range) => {
          const [from, to = from] = range.split('-').map(Number);
          return slot >= from! && slot <= to!;
        })
      )
        return node;
    }
    throw new Error(`No node of the test cluster holds slot ${slot} (key ${key}).`);
  };
  return { nodes, urls: nodes.map((node) => node.url), nodeOf, stop };
}
