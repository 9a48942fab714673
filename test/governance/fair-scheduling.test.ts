import { ApiKeyStore } from '@flowtrace/api';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { NO_LIMITS, TenantLimitsStore } from '@flowtrace/engine';
import { startTargetServer, type TargetServer } from '@flowtrace/executors/testing';
import { type LocalStack, startLocalStack } from '@flowtrace/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/stack-client.ts';

/** Requests to a path wait until released, one at a time or all at once. */
function gatedPath() {
  const waiting: (() => void)[] = [];
  let open = false;
  return {
    responder: () =>
      open
        ? { body: { ok: true } }
        : new Promise<{ body: { ok: boolean } }>((resolve) =>
            waiting.push(() => resolve({ body: { ok: true } })),
          ),
    releaseOne: () => waiting.shift()?.(),
    openAll: () => {
      open = true;
      for (const release of waiting.splice(0)) release();
    },
    get waiting() {
      return waiting.length;
    },
  };
}

/**
 * Fair scheduling across tenants on real API and worker processes: one connector worker running four nodes
 * at once, and a target server that holds requests until the test lets them go, so that what runs next is
 * decided by the queue's order alone.
 */
describe('fair scheduling', () => {
  let db: TestDatabase;
  let target: TargetServer;
  let stack: LocalStack;

  beforeAll(async () => {
    [db, target] = await Promise.all([createTestDatabase(), startTargetServer()]);
    stack = await startLocalStack({
      dataDir: `/tmp/flowtrace-fair-${process.pid}`,
      databaseUrl: db.url,
      workers: [{ kinds: ['connector'] }],
      env: {
        WORKER_CONCURRENCY_CONNECTOR: '4',
        FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1',
        TENANT_LIMITS_CACHE_MS: '0',
      },
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([db?.drop(), target?.close()]);
  });

  const tenant = async (name: string) => {
    const key = await new ApiKeyStore({ sql: db.handle.sql }).create(name);
    const submit = async (path: string) => {
      const response = await fetch(`${stack.apiUrl}/v1/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          workflow: {
            name: `${name}-call`,
            nodes: [{ id: 'call', type: 'connector', config: { url: `${target.url}${path}` } }],
          },
        }),
      });
      expect(response.status).toBe(202);
      return ((await response.json()) as { runId: string }).runId;
    };
    const runsIn = async (status: string) => {
      const [row] = await db.handle.sql<{ n: number }[]>`
        select count(*)::int as n from runs where tenant_id = ${key.tenantId} and status = ${status}`;
      return row?.n ?? 0;
    };
    return { ...key, submit, runsIn };
  };

  it("starts another tenant's run next, ahead of a backlog of 196 queued runs", async () => {
    const a = await tenant('busy');
    const b = await tenant('quiet');
    const busy = gatedPath();
    target.on('GET', '/busy', busy.responder);
    target.on('GET', '/quiet', { body: { ok: true } });
    for (let i = 0; i < 200; i += 20) await Promise.all(Array.from({ length: 20 }, () => a.submit('/busy')));
    // Four of a's nodes hold the worker's four slots; the other 196 wait in the queue.
    await waitUntil(() => busy.waiting === 4, "four of a's requests in flight");
    const quiet = await b.submit('/quiet');
    // Each released slot takes the next job in the queue's order. With tenants served in turn, b's node is
    // among the first two to start (at most one of a's waiting jobs ranks with it); first-in first-out
    // would put it behind all 196.
    const started = () => target.requests.filter((r) => r.path === '/quiet').length;
    for (let released = 0; released < 2 && started() === 0; released++) {
      busy.releaseOne();
      await waitUntil(() => started() === 1 || busy.waiting === 4, 'the next job to start');
    }
    expect(started()).toBe(1);
    expect(await a.runsIn('queued')).toBeGreaterThanOrEqual(190);
    await waitUntil(async () => (await b.runsIn('completed')) === 1, `b's run ${quiet} to complete`);
    busy.openAll();
    await waitUntil(async () => (await a.runsIn('completed')) === 200, "a's 200 runs to complete", 120_000);
  });

  it('holds nodes past maxInflightNodes in Postgres and releases them as the tenant’s nodes finish', async () => {
    const c = await tenant('capped');
    await new TenantLimitsStore({ sql: db.handle.sql }).set(c.tenantId, 'operator', {
      ...NO_LIMITS,
      maxInflightNodes: 3,
    });
    const capped = gatedPath();
    target.on('GET', '/capped', capped.responder);
    for (let i = 0; i < 10; i++) await c.submit('/capped');
    // The worker has four free slots, but only three of c's nodes are handed to the queue.
    await waitUntil(() => capped.waiting === 3, "three of c's requests in flight");
    const held = async () => {
      const [row] = await db.handle.sql<{ n: number }[]>`
        select count(*)::int as n from held_nodes where tenant_id = ${c.tenantId}`;
      return row?.n ?? 0;
    };
    expect(await held()).toBe(7);
    // Held nodes are queued in Postgres without a queued_at, so the reconciler leaves them alone.
    const [queued] = await db.handle.sql<{ n: number }[]>`
      select count(*)::int as n from node_runs n join runs r on r.id = n.run_id
      where r.tenant_id = ${c.tenantId} and n.status = 'queued' and n.queued_at is null`;
    expect(queued?.n).toBe(7);
    // Each finished node lets one held node go, never more than three in flight.
    capped.releaseOne();
    await waitUntil(async () => (await held()) === 6 && capped.waiting === 3, 'one held node released');
    capped.openAll();
    await waitUntil(async () => (await c.runsIn('completed')) === 10, "c's ten runs to complete", 60_000);
    expect(await held()).toBe(0);
    // Each worker gives the slot back right after the node's outcome is committed.
    const inflight = async () => {
      const [row] = await db.handle.sql<{ n: number }[]>`
        select count(*)::int as n from inflight_nodes where tenant_id = ${c.tenantId}`;
      return row?.n ?? 0;
    };
    await waitUntil(async () => (await inflight()) === 0, "c's in-flight slots to be given back");
  });
});
