import type { Sql } from '@flowtrace/db';
import type { RedisConnection } from '../queue/redis-connection.ts';

/**
 * A token bucket per tenant: up to `perMinute` runs at once, refilled evenly at `perMinute` per minute.
 * Redis's clock is the only clock, so every API replica draws from the same bucket.
 */
const TAKE_TOKEN = `
local capacity = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local refill = capacity / 60000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then tokens = capacity; ts = now end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * refill)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / refill)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], 120000)
return {allowed, wait}
`;

/** Takes a slot when fewer than ARGV[1] are held (a run already holding one keeps it). */
const TAKE_SLOT = `
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 1 end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], 604800000)
  return 1
end
return 0
`;

/** A slot whose run never appeared in Postgres (its submission failed mid-way) is freed after this. */
const UNBORN_SLOT_MS = 60_000;

/**
 * The quotas of run submission in Redis: runs per minute (a token bucket) and concurrent runs (a sorted
 * set of the tenant's active run ids). Postgres stays the truth for what is active: the set is seeded from
 * it when empty, and pruned against it before a submission is refused, so a crash that left a finished run
 * in the set costs nothing.
 */
export class RunQuotas {
  readonly #redis: RedisConnection;
  readonly #sql: Sql;
  readonly #prefix: string;

  constructor(deps: { redis: RedisConnection; sql: Sql }, options: { prefix: string }) {
    this.#redis = deps.redis;
    this.#sql = deps.sql;
    this.#prefix = options.prefix;
  }

  /** Takes one token; when none is left, how long until one is (ms). */
  async takeRunToken(
    tenantId: string,
    perMinute: number,
  ): Promise<{ allowed: boolean; retryAfterMs: number }> {
    const [allowed, wait] = (await this.#redis.eval(
      TAKE_TOKEN,
      1,
      `${this.#prefix}:tenant:${tenantId}:run-rate`,
      String(perMinute),
    )) as [number, number];
    return { allowed: allowed === 1, retryAfterMs: wait };
  }

  /**
   * Takes a concurrent-run slot for `runId`. When the tenant is at `max`, slots of runs that are over (or
   * that never came to exist) are freed first; false when `max` runs are still active.
   */
  async takeRunSlot(tenantId: string, runId: string, max: number): Promise<boolean> {
    const key = this.#slotsKey(tenantId);
    if ((await this.#redis.exists(key)) === 0) await this.#seed(tenantId, key);
    if (await this.#take(key, runId, max)) return true;
    await this.#prune(key);
    return this.#take(key, runId, max);
  }

  /** Frees a run's slot (its submission failed, or it replayed an earlier run). */
  async releaseRunSlot(tenantId: string, runId: string): Promise<void> {
    await this.#redis.zrem(this.#slotsKey(tenantId), runId);
  }

  async #take(key: string, runId: string, max: number): Promise<boolean> {
    return (await this.#redis.eval(TAKE_SLOT, 1, key, String(max), runId, String(Date.now()))) === 1;
  }

  /** The tenant's active runs, from Postgres (the set is empty after a restart or a Redis loss). */
  async #seed(tenantId: string, key: string): Promise<void> {
    const rows = await this.#sql<{ id: string; created_at: Date }[]>`
      select id, created_at from runs
      where tenant_id = ${tenantId} and status in ('queued', 'running')
      order by created_at desc limit 10000`;
    if (rows.length === 0) return;
    const members = rows.flatMap((r) => [String(r.created_at.getTime()), r.id]);
    await this.#redis.zadd(key, 'NX', ...members);
  }

  async #prune(key: string): Promise<void> {
    const held = await this.#redis.zrange(key, 0, -1, 'WITHSCORES');
    const slots: { runId: string; since: number }[] = [];
    for (let i = 0; i + 1 < held.length; i += 2)
      slots.push({ runId: held[i] as string, since: Number(held[i + 1]) });
    if (slots.length === 0) return;
    const rows = await this.#sql<{ id: string; status: string }[]>`
      select id, status from runs where id = any(${slots.map((s) => s.runId)}::uuid[])`;
    const born = new Set(rows.map((r) => r.id));
    const active = new Set(
      rows.filter((r) => r.status === 'queued' || r.status === 'running').map((r) => r.id),
    );
    const now = Date.now();
    const stale = slots
      .filter((s) => !active.has(s.runId) && (born.has(s.runId) || now - s.since > UNBORN_SLOT_MS))
      .map((s) => s.runId);
    if (stale.length > 0) await this.#redis.zrem(key, ...stale);
  }

  #slotsKey(tenantId: string): string {
    return `${this.#prefix}:tenant:${tenantId}:active-runs`;
  }
}
