import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { NodeStateStore, RunRepository } from '@flowtrace/engine';
import { parseWorkflowDefinition } from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const tracer = trace.getTracer('batched-writes-test');
const noLedger = { modelCalls: [], agentSteps: [] };
const span = (i: number) => ({ traceId: 'a'.repeat(32), spanId: `${i}`.padStart(16, '0') });
/** One batch at a time: every write that arrives meanwhile joins the next batch. */
const batching = { maxBatch: 64, maxInFlight: 1 };
const config = { provider: 'simulated', model: 'sim', prompt: 'p' };

/**
 * The run state machine with group commit: writes of the same run in one transaction (a join's
 * predecessors finishing together) and submissions sharing an idempotency key keep their guarantees.
 */
describe('batched engine writes (real Postgres)', () => {
  let db: TestDatabase;
  let repository: RunRepository;
  let nodes: NodeStateStore;
  let tenantId: string;

  beforeAll(async () => {
    db = await createTestDatabase({ maxConnections: 8 });
    repository = new RunRepository({ sql: db.handle.sql, tracer, batching });
    nodes = new NodeStateStore({ sql: db.handle.sql, tracer, batching });
    const [tenant] = await db.handle.sql`insert into tenants (name) values ('batched') returning id`;
    tenantId = tenant?.id as string;
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function newRun(
    definition: ReturnType<typeof parseWorkflowDefinition>,
    idempotencyKey: string | null,
  ) {
    const { workflow } = await repository.registerWorkflow(tenantId, definition);
    const runId = randomUUID();
    const roots = definition.nodes.filter((n) => n.dependsOn.length === 0).map((n) => n.id);
    const result = await repository.createRun(
      {
        id: runId,
        tenantId,
        apiKeyId: null,
        workflow,
        input: {},
        idempotencyKey,
        requestHash: 'h',
        trace: { ...span(0), parentSpanId: null, traceFlags: 1, traceState: null },
        createdAt: new Date(),
        deadlineAt: null,
        nodes: definition.nodes.map((n) => ({
          nodeId: n.id,
          type: n.type,
          dependsOn: n.dependsOn,
          maxAttempts: 3,
        })),
      },
      roots.map((id) => ({ nodeId: id, jobId: `${runId}.${id}`, carrier: {} })),
    );
    return { result, runId, workflowId: workflow.id };
  }

  it('makes a join ready exactly once when its predecessors finish in the same batches', async () => {
    const branches = Array.from({ length: 24 }, (_, i) => `b${i}`);
    const definition = parseWorkflowDefinition({
      name: 'batched-fan-in',
      nodes: [
        { id: 'root', type: 'llm', config },
        ...branches.map((id) => ({ id, type: 'llm', dependsOn: ['root'], config })),
        { id: 'join', type: 'llm', dependsOn: branches, config },
      ],
    });
    const { runId, workflowId } = await newRun(definition, null);
    const finish = (nodeId: string, attempt: number, i: number, successors: string[]) =>
      nodes.finishNode({
        runId,
        nodeId,
        tenantId,
        ...span(i),
        attempt,
        status: 'completed',
        output: { from: nodeId },
        error: null,
        ledger: noLedger,
        isSink: nodeId === 'join',
        sinks: ['join'],
        dispatches: successors.map((id) => ({ nodeId: id, jobId: `${runId}.${id}`, carrier: {} })),
      });
    const root = await nodes.claim({ runId, nodeId: 'root', ...span(1), workflowId, outputsOf: [] });
    const rootDone = await finish('root', root?.attempt ?? 0, 1, branches);
    expect(rootDone.ready.map((r) => r.nodeId).sort()).toEqual([...branches].sort());

    // Every branch claimed, then finished, all at once: the writes share transactions.
    const claims = await Promise.all(
      branches.map((id, i) =>
        nodes.claim({ runId, nodeId: id, ...span(10 + i), workflowId, outputsOf: ['root'] }),
      ),
    );
    expect(claims.every((c) => c?.attempt === 1 && c.completedOutputs.root !== undefined)).toBe(true);
    const done = await Promise.all(branches.map((id, i) => finish(id, 1, 10 + i, ['join'])));
    expect(done.every((d) => d.applied)).toBe(true);
    expect(done.flatMap((d) => d.ready.map((r) => r.nodeId))).toEqual(['join']);

    const join = await nodes.claim({ runId, nodeId: 'join', ...span(99), workflowId, outputsOf: branches });
    expect(Object.keys(join?.completedOutputs ?? {})).toHaveLength(branches.length);
    const last = await finish('join', join?.attempt ?? 0, 99, []);
    expect(last.finishedRun?.status).toBe('completed');

    const [run] = await db.handle.sql`select status, nodes_finished, event_seq from runs where id = ${runId}`;
    expect(run).toMatchObject({ status: 'completed', nodes_finished: branches.length + 2 });
    const seqs = await db.handle.sql<
      { seq: number }[]
    >`select seq from event_logs where run_id = ${runId} order by seq`;
    expect(seqs.map((e) => e.seq)).toEqual(Array.from({ length: run?.event_seq as number }, (_, i) => i + 1));
  });

  it('creates one run per idempotency key when requests with the same key are batched together', async () => {
    const definition = parseWorkflowDefinition({
      name: 'batched-idempotent',
      nodes: [{ id: 'n', type: 'llm', config }],
    });
    const key = `key-${randomUUID()}`;
    const created = await Promise.all([
      ...Array.from({ length: 10 }, () => newRun(definition, key)),
      ...Array.from({ length: 10 }, () => newRun(definition, null)),
    ]);
    const keyed = created.slice(0, 10).map((c) => c.result);
    expect(keyed.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(keyed.map((r) => r.run.id)).size).toBe(1);
    expect(created.slice(10).every((c) => c.result.created)).toBe(true);
    const [row] = await db.handle.sql`
      select count(*)::int as n from runs where tenant_id = ${tenantId} and idempotency_key = ${key}`;
    expect(row?.n).toBe(1);
  });
});
