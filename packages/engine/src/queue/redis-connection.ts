import { Redis, type RedisOptions } from 'ioredis';

export interface RedisConnectionOptions {
  url: string;
  /** Producers fail fast when Redis is down; workers (blocking commands) wait for it to come back. */
  role: 'producer' | 'worker';
  connectionName?: string;
}

/**
 * An ioredis connection with the settings BullMQ's production guide asks for: reconnect forever with a
 * capped backoff, and `maxRetriesPerRequest: null` for workers so blocking commands survive a restart.
 */
export function createRedis(options: RedisConnectionOptions): Redis {
  const settings: RedisOptions = {
    maxRetriesPerRequest: options.role === 'worker' ? null : 2,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(200 * 2 ** Math.min(times, 7), 20_000),
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
  };
  return new Redis(options.url, settings);
}

/**
 * BullMQ is only correct when Redis never evicts keys. Throws a clear error otherwise; managed Redis
 * services that forbid CONFIG are allowed through with a warning, since the setting cannot be read.
 */
export async function assertNoEviction(redis: Redis, warn: (message: string) => void): Promise<void> {
  let policy: string | undefined;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
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
