import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantWithRun } from '../testing/tenant-ledger.ts';
import { FairQueueOrder } from './fair-queue-order.ts';
import { RunQuotas } from './run-quotas.ts';

describe('quotas and fair order in Redis', () => {
  let redis: Redis;
  let db: TestDatabase;
  const prefix = `{ft-quota-${randomUUID().slice(0, 8)}}`;

  beforeAll(async () => {
    redis = new Redis('redis://127.0.0.1:6379');
    db = await createTestDatabase();
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await db?.drop();
  });

  it('gives a burst of runsPerMinute tokens, then says how long until the next', async () => {
    const quotas = new RunQuotas({ redis, sql: db.handle.sql }, { prefix });
    const tenant = randomUUID();
    const takes = await Promise.all(Array.from({ length: 12 }, () => quotas.takeRunToken(tenant, 10)));
    expect(takes.filter((t) => t.allowed)).toHaveLength(10);
    const refused = takes.find((t) => !t.allowed);
    // One token every 6 s at 10 per minute.
    expect(refused?.retryAfterMs).toBeGreaterThan(0);
    expect(refused?.retryAfterMs).toBeLessThanOrEqual(6_000);
  });

  it('holds concurrent-run slots, frees those of finished or never-stored runs, and seeds from Postgres', async () => {
    const quotas = new RunQuotas({ redis, sql: db.handle.sql }, { prefix });
    const { tenantId, runId, newRun } = await createTenantWithRun(db.handle.sql);
    // The tenant already has one running run: the empty set is seeded with it.
    expect(await quotas.takeRunSlot(tenantId, randomUUID(), 2)).toBe(true);
    expect(await quotas.takeRunSlot(tenantId, randomUUID(), 2)).toBe(false);
    // Once it ends, its slot is pruned on the next refusal.
    await db.handle.sql`update runs set status = 'completed' where id = ${runId}`;
    const next = await newRun();
    expect(await quotas.takeRunSlot(tenantId, next, 2)).toBe(true);
    // Taking a slot again for the same run is not a second slot.
    expect(await quotas.takeRunSlot(tenantId, next, 2)).toBe(true);
  });

  it("ranks each job by its tenant's waiting jobs, so a quiet tenant goes first", async () => {
    const order = new FairQueueOrder({ redis }, { prefix });
    const busy = Array.from({ length: 5 }, (_, i) => ({ tenantId: 'a', jobId: `a-${i}` }));
    expect(await order.assign('nodes.llm', busy)).toEqual([1, 2, 3, 4, 5]);
    expect(await order.assign('nodes.llm', [{ tenantId: 'b', jobId: 'b-0' }])).toEqual([1]);
    // Another queue has its own order; a started job no longer waits.
    expect(await order.assign('nodes.rag', [{ tenantId: 'a', jobId: 'r-0' }])).toEqual([1]);
    await order.started('nodes.llm', 'a', 'a-0');
    await order.started('nodes.llm', 'a', 'a-1');
    expect(await order.assign('nodes.llm', [{ tenantId: 'a', jobId: 'a-5' }])).toEqual([4]);
    // Re-adding a waiting job does not count it twice.
    expect(await order.assign('nodes.llm', [{ tenantId: 'a', jobId: 'a-5' }])).toEqual([4]);
  });
});
