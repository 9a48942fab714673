import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import {
  createRedis,
  type EventView,
  NodeStateStore,
  RedisRunEventNotifier,
  RunEventHub,
  RunRepository,
} from '@flowtrace/engine';
import { createLogger } from '@flowtrace/telemetry';
import { parseWorkflowDefinition } from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/stack-client.ts';

const tracer = trace.getTracer('event-hub-test');
const logger = createLogger({ name: 'test', level: 'silent' });

/** The hub against real Postgres and Redis: wake-ups, lost wake-ups, late and resuming readers. */
describe('RunEventHub', () => {
  let db: TestDatabase;
  let redis: ReturnType<typeof createRedis>;
  let repository: RunRepository;
  let tenantId: string;
  const prefix = `{ft-hub-${randomUUID().slice(0, 8)}}`;

  beforeAll(async () => {
    db = await createTestDatabase({ maxConnections: 6 });
    redis = createRedis({ url: 'redis://127.0.0.1:6379', role: 'producer' });
    repository = new RunRepository({ sql: db.handle.sql, tracer });
    const [tenant] = await db.handle.sql`insert into tenants (name) values ('hub') returning id`;
    tenantId = tenant?.id as string;
  });
  afterAll(async () => {
    await redis?.quit();
    await db?.drop();
  });

  async function startRun(): Promise<string> {
    const definition = parseWorkflowDefinition({
      name: 'hub',
      nodes: ['x', 'y'].map((id) => ({
        id,
        type: 'llm',
        config: { provider: 'simulated', model: 's', prompt: 'p' },
      })),
    });
    const { workflow } = await repository.registerWorkflow(tenantId, definition);
    const runId = randomUUID();
    await repository.createRun(
      {
        id: runId,
        tenantId,
        apiKeyId: null,
        workflow,
        input: {},
        idempotencyKey: null,
        requestHash: 'h',
        trace: {
          traceId: 'c'.repeat(32),
          spanId: 'd'.repeat(16),
          parentSpanId: null,
          traceFlags: 1,
          traceState: null,
        },
        createdAt: new Date(),
        deadlineAt: null,
        nodes: ['x', 'y'].map((nodeId) => ({ nodeId, type: 'llm', dependsOn: [], maxAttempts: 1 })),
      },
      ['x', 'y'].map((nodeId) => ({ nodeId, jobId: `${runId}-${nodeId}`, carrier: {} })),
    );
    return runId;
  }

  const claim = (store: NodeStateStore, runId: string, nodeId: string) =>
    store.claim({ runId, nodeId, traceId: 'c'.repeat(32), spanId: 'e'.repeat(16) });

  it('delivers new events to every reader once, woken by the writer that committed them', async () => {
    const hub = new RunEventHub({ sql: db.handle.sql, redis, prefix, logger }, { sweepIntervalMs: 60_000 });
    const store = new NodeStateStore({
      sql: db.handle.sql,
      tracer,
      events: new RedisRunEventNotifier({ redis, prefix, logger }),
    });
    try {
      const runId = await startRun();
      const a: EventView[] = [];
      const b: EventView[] = [];
      const subA = await hub.subscribe(runId, 0, { onEvents: (events) => a.push(...events) });
      await waitUntil(() => a.length === 1, 'run.queued');
      await claim(store, runId, 'x');
      await waitUntil(() => a.length === 3, 'run.started and node.started x');
      // A late reader starts from where it asks, served from the hub (no read of its own).
      const reads = hub.stats().reads;
      const subB = await hub.subscribe(runId, 1, { onEvents: (events) => b.push(...events) });
      expect(b.map((e) => e.seq)).toEqual([2, 3]);
      expect(hub.stats().reads).toBe(reads);
      await claim(store, runId, 'y');
      await waitUntil(() => a.length === 4 && b.length === 3, 'node.started y to both');
      expect(a.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect(b.map((e) => e.seq)).toEqual([2, 3, 4]);
      subA.close();
      subB.close();
      expect(hub.stats()).toMatchObject({ runs: 0, subscribers: 0 });
    } finally {
      await hub.close();
    }
  });

  it('catches up on a wake-up that was lost (a writer that died before publishing) at its sweep', async () => {
    const hub = new RunEventHub({ sql: db.handle.sql, redis, prefix, logger }, { sweepIntervalMs: 200 });
    // No notifier: commits are never announced, as with a worker killed between commit and publish.
    const silent = new NodeStateStore({ sql: db.handle.sql, tracer });
    try {
      const runId = await startRun();
      const seen: EventView[] = [];
      const sub = await hub.subscribe(runId, 0, { onEvents: (events) => seen.push(...events) });
      await waitUntil(() => seen.length === 1, 'run.queued');
      await claim(silent, runId, 'x');
      await waitUntil(() => seen.length === 3, 'the swept events', 5_000);
      expect(seen.map((e) => e.type)).toEqual(['run.queued', 'run.started', 'node.started']);
      sub.close();
    } finally {
      await hub.close();
    }
  });
});
