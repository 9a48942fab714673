import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { type EventView, NodeStateStore, RunControlStore, RunRepository } from '@flowtrace/engine';
import { parseWorkflowDefinition } from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const tracer = trace.getTracer('event-order-test');
const NODES = 24;
const noLedger = { modelCalls: [], agentSteps: [] };

describe('event order: paging by seq while writers commit', () => {
  let db: TestDatabase;
  let repository: RunRepository;
  let nodes: NodeStateStore;
  let control: RunControlStore;
  let tenantId: string;

  beforeAll(async () => {
    db = await createTestDatabase({ maxConnections: 16 });
    const sql = db.handle.sql;
    repository = new RunRepository({ sql, tracer });
    nodes = new NodeStateStore({ sql, tracer });
    control = new RunControlStore({ sql, tracer });
    const [tenant] = await sql`insert into tenants (name) values ('order') returning id`;
    tenantId = tenant?.id as string;
    // Every event write waits a few random milliseconds after its insert, before it commits: the window in
    // which an event with a later identity id could become visible before an earlier one.
    await sql.unsafe(`
      create function test_delay_commit() returns trigger language plpgsql as
        $$ begin perform pg_sleep(random() * 0.004); return null; end $$;
      create trigger test_delay_commit after insert on event_logs
        for each statement execute function test_delay_commit();`);
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function startRun(name: string): Promise<{ runId: string; sinks: string[] }> {
    const definition = parseWorkflowDefinition({
      name,
      nodes: Array.from({ length: NODES }, (_, i) => ({
        id: `n${i}`,
        type: 'llm',
        config: { provider: 'simulated', model: 'sim', prompt: 'p' },
      })),
    });
    const { workflow } = await repository.registerWorkflow(tenantId, definition);
    const runId = randomUUID();
    const ids = definition.nodes.map((n) => n.id);
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
          traceId: 'a'.repeat(32),
          spanId: 'b'.repeat(16),
          parentSpanId: null,
          traceFlags: 1,
          traceState: null,
        },
        createdAt: new Date(),
        deadlineAt: null,
        nodes: ids.map((nodeId) => ({ nodeId, type: 'llm', dependsOn: [], maxAttempts: 3 })),
      },
      ids.map((nodeId) => ({ nodeId, jobId: `${runId}-${nodeId}`, carrier: {} })),
    );
    return { runId, sinks: ids };
  }

  /** Claims, fails once (retry), claims again and completes every node, many at a time. */
  async function executeAll(runId: string, sinks: string[]): Promise<void> {
    await Promise.all(
      sinks.map(async (nodeId, i) => {
        const ref = { runId, nodeId, traceId: 'a'.repeat(32), spanId: `${i}`.padStart(16, '0') };
        const first = await nodes.claim(ref);
        if (!first) throw new Error(`could not claim ${nodeId}`);
        const common = { ...ref, tenantId, attempt: first.attempt, ledger: noLedger };
        await nodes.retryNode({ ...common, error: { code: 'provider_error', message: 'x' }, delayMs: 0 });
        const second = await nodes.claim(ref);
        if (!second) throw new Error(`could not claim ${nodeId} again`);
        await nodes.finishNode({
          ...common,
          attempt: second.attempt,
          status: 'completed',
          output: { i },
          error: null,
          isSink: true,
          sinks,
          dispatches: [],
        });
      }),
    );
  }

  /** Pages `?after=` with a small page until `done` and the run has no more events. */
  async function readAll(runId: string, done: () => boolean) {
    const seen: EventView[] = [];
    const pages: number[][] = [];
    let after = 0;
    for (;;) {
      const finished = done();
      const page = (await repository.listEvents(tenantId, runId, { afterSeq: after, limit: 3 })) ?? [];
      pages.push(page.map((e) => e.seq));
      seen.push(...page);
      after = page.at(-1)?.seq ?? after;
      if (page.length === 0 && finished) return { seen, pages, after };
    }
  }

  it('never skips an event: every page continues exactly where the last one ended', async () => {
    const { runId, sinks } = await startRun('order-complete');
    let writing = true;
    const [reader] = await Promise.all([
      readAll(runId, () => !writing),
      executeAll(runId, sinks).finally(() => {
        writing = false;
      }),
    ]);

    const all = await db.handle.sql`select seq, type from event_logs where run_id = ${runId} order by seq`;
    // 1 run.queued, 1 run.started, per node 2 starts, 1 retry, 1 completion, 1 run.completed.
    expect(all).toHaveLength(3 + NODES * 4);
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    expect(reader.seen.map((e) => e.seq)).toEqual(all.map((e) => e.seq));
    // The reader saw every event exactly once, and no page ever had a hole in it.
    let previous = 0;
    for (const page of reader.pages) {
      expect(page).toEqual(page.map((_, i) => previous + 1 + i));
      previous = page.at(-1) ?? previous;
    }
    expect(reader.pages.filter((p) => p.length > 0).length).toBeGreaterThan(NODES);
    expect(all.at(-1)?.type).toBe('run.completed');
    const [run] = await db.handle.sql`select event_seq, status from runs where id = ${runId}`;
    expect(run).toMatchObject({ event_seq: all.length, status: 'completed' });
  });

  it('keeps seq contiguous and ordered across cancellation racing node writes', async () => {
    const { runId, sinks } = await startRun('order-cancel');
    let writing = true;
    const half = sinks.slice(0, NODES / 2);
    const [reader] = await Promise.all([
      readAll(runId, () => !writing),
      (async () => {
        // Half the nodes run; the run is cancelled while they do; the rest are cancelled with it.
        const claims = await Promise.all(
          half.map((nodeId, i) =>
            nodes.claim({ runId, nodeId, traceId: 'a'.repeat(32), spanId: `${i}`.padStart(16, '0') }),
          ),
        );
        const [terminated] = await Promise.all([
          control.terminate({
            runId,
            status: 'cancelled',
            error: { code: 'cancelled', message: 'the run was cancelled' },
            event: 'run.cancelled',
          }),
          ...half.map((nodeId, i) =>
            nodes.cancelAttempt({
              runId,
              nodeId,
              tenantId,
              attempt: claims[i]?.attempt ?? 1,
              traceId: 'a'.repeat(32),
              spanId: `${i}`.padStart(16, '0'),
              error: { code: 'cancelled', message: 'stopped' },
              ledger: noLedger,
            }),
          ),
        ]);
        expect(terminated.outcome).toBe('terminated');
      })().finally(() => {
        writing = false;
      }),
    ]);
    const all = await db.handle
      .sql`select seq, type, data from event_logs where run_id = ${runId} order by seq`;
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    expect(reader.seen.map((e) => e.seq)).toEqual(all.map((e) => e.seq));
    const cancelled = all.find((e) => e.type === 'run.cancelled');
    expect(cancelled?.data.cancelledNodes).toEqual(sinks.slice(NODES / 2).sort());
    expect(all.filter((e) => e.type === 'node.cancelled')).toHaveLength(NODES / 2);
  });
});
