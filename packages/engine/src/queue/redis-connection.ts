import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A standalone Redis or a Redis Cluster connection; BullMQ and the rest of the engine take either. */
export type RedisConnection = Redis | Cluster;

export interface RedisConnectionOptions {
  /** `redis://` or `rediss://`; in cluster mode, a comma-separated list of seed nodes. */
  url: string;
  /** Redis Cluster (and cluster-mode managed Redis): BullMQ keys share the QUEUE_PREFIX hash tag. */
  cluster?: boolean;
  /** Producers fail fast when Redis is down; workers (blocking commands) wait for it to come back. */
  role: 'producer' | 'worker';
  connectionName?: string;
}

/**
 * An ioredis connection with the settings BullMQ's production guide asks for: reconnect forever with a
 * capped backoff, and `maxRetriesPerRequest: null` for workers so blocking commands survive a restart.
 */
export function createRedis(options: RedisConnectionOptions): RedisConnection {
  const settings: RedisOptions = {
    maxRetriesPerRequest: options.role === 'worker' ? null : 2,
    enableReadyCheck: true,
    // A producer's commands issued in the same turn (wake-ups, fair-order updates, the enqueues of jobs that
    // finished together) go out in one write. Never for workers: a blocking command would hold the rest.
    enableAutoPipelining: options.role === 'producer',
    retryStrategy: (times) => Math.min(200 * 2 ** Math.min(times, 7), 20_000),
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
  };
  if (!options.cluster) return new Redis(options.url, settings);
  const seeds = options.url.split(',').map((seed) => {
    const url = new URL(seed.trim());
    return { host: url.hostname, port: Number(url.port || 6379) };
  });
  const first = new URL(options.url.split(',')[0]?.trim() ?? '');
  return new Cluster(seeds, {
    redisOptions: {
      ...settings,
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
    },
    clusterRetryStrategy: (times) => Math.min(200 * 2 ** Math.min(times, 7), 20_000),
  });
}

/**
 * BullMQ is only correct when Redis never evicts keys. Throws a clear error otherwise (on a cluster, when
 * any primary evicts); managed Redis services that forbid CONFIG pass with a warning, since the setting
 * cannot be read.
 */
export async function assertNoEviction(
  redis: RedisConnection,
  warn: (message: string) => void,
): Promise<void> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let policy: string | undefined;
    try {
      const reply = (await node.config('GET', 'maxmemory-policy')) as string[];
      policy = reply[1];
    } catch (error) {
      warn(`could not read Redis maxmemory-policy (${(error as Error).message}); make sure it is noeviction`);
      return;
    }
    if (policy !== undefined && policy !== 'noeviction') {
      throw new Error(
        `Redis maxmemory-policy is "${policy}"; BullMQ needs "noeviction" or queued jobs can be silently ` +
          'evicted. Set it with `CONFIG SET maxmemory-policy noeviction` (and in redis.conf).',
      );
    }
  }
}
