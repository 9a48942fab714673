import type { RedisConnection } from '../queue/redis-connection.ts';

/** BullMQ's largest priority. */
const MAX_PRIORITY = 2_097_151;

/**
 * For each job (KEYS[i] is its tenant's waiting set in its queue, ARGV[i + 2] its id): forget entries
 * older than the age limit, add the job, and answer the set's size, the job's priority.
 */
const ASSIGN = `
local now = tonumber(ARGV[1])
local maxAge = tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - maxAge)
  redis.call('ZADD', KEYS[i], 'NX', now, ARGV[i + 2])
  redis.call('PEXPIRE', KEYS[i], maxAge)
  out[i] = math.min(redis.call('ZCARD', KEYS[i]), ${MAX_PRIORITY})
end
return out
`;

/**
 * Fair order across tenants, with BullMQ's own job priorities (no BullMQ Pro groups): a job's priority is
 * the number of its tenant's jobs waiting in its queue, itself included. A tenant with nothing waiting
 * gets priority 1 and is served next, ahead of another tenant's backlog of hundreds, whose jobs are served
 * one per tenant per round in between. The waiting sets live in Redis next to the queues; a worker takes
 * its job out when it starts it, and entries older than `maxAgeMs` are forgotten, so a lost removal only
 * skews the order for a while.
 */
export class FairQueueOrder {
  readonly #redis: RedisConnection;
  readonly #prefix: string;
  readonly #maxAgeMs: number;

  constructor(deps: { redis: RedisConnection }, options: { prefix: string; maxAgeMs?: number }) {
    this.#redis = deps.redis;
    this.#prefix = options.prefix;
    this.#maxAgeMs = options.maxAgeMs ?? 3_600_000;
  }

  /** Priorities for jobs about to be added to `queue`, in order. */
  async assign(queue: string, jobs: readonly { tenantId: string; jobId: string }[]): Promise<number[]> {
    if (jobs.length === 0) return [];
    const keys = jobs.map((job) => this.#key(queue, job.tenantId));
    const priorities = (await this.#redis.eval(
      ASSIGN,
      keys.length,
      ...keys,
      String(Date.now()),
      String(this.#maxAgeMs),
      ...jobs.map((job) => job.jobId),
    )) as number[];
    return priorities.map((p) => Math.max(1, Number(p)));
  }

  /** A worker started the job: it no longer waits. */
  async started(queue: string, tenantId: string, jobId: string): Promise<void> {
    await this.#redis.zrem(this.#key(queue, tenantId), jobId);
  }

  #key(queue: string, tenantId: string): string {
    return `${this.#prefix}:fair:${queue}:${tenantId}`;
  }
}
