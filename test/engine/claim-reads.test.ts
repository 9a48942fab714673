import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { NodeStateStore, RunRepository } from '@flowtrace/engine';
import { parseWorkflowDefinition } from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const tracer = trace.getTracer('claim-reads-test');
const noLedger = { modelCalls: [], agentSteps: [] };
const span = (i: number) => ({ traceId: 'a'.repeat(32), spanId: `${i}`.padStart(16, '0') });

/**
 * What a claim reads back: the completed outputs of the nodes it is told (the node's ancestors), not every
 * completed output of its run, so a claim costs the same in a run of 10 nodes as in one of 200.
 */
describe('claim reads the outputs of its ancestors only', () => {
  let db: TestDatabase;
  let repository: RunRepository;
  let nodes: NodeStateStore;
  let tenantId: string;

  beforeAll(async () => {
    db = await createTestDatabase({ maxConnections: 4 });
    repository = new RunRepository({ sql: db.handle.sql, tracer });
    nodes = new NodeStateStore({ sql: db.handle.sql, tracer });
    const [tenant] = await db.handle.sql`insert into tenants (name) values ('claims') returning id`;
    tenantId = tenant?.id as string;
  });
  afterAll(async () => {
    await db?.drop();
  });

  /** root → a, b (parallel) → join; a and b completed, so join is queued. */
  async function runWithCompletedBranches() {
    const definition = parseWorkflowDefinition({
      name: `fan-${randomUUID().slice(0, 8)}`,
      nodes: [
        { id: 'root', type: 'llm', config: { provider: 'simulated', model: 'sim', prompt: 'p' } },
        ...['a', 'b'].map((id) => ({
          id,
          type: 'llm',
          dependsOn: ['root'],
          config: { provider: 'simulated', model: 'sim', prompt: 'p' },
        })),
        {
          id: 'join',
          type: 'llm',
          dependsOn: ['a', 'b'],
          config: { provider: 'simulated', model: 'sim', prompt: 'p' },
        },
      ],
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
      [{ nodeId: 'root', jobId: `${runId}.root`, carrier: {} }],
    );
    const finish = async (nodeId: string, i: number, successors: string[]) => {
      const claimed = await nodes.claim({ runId, nodeId, ...span(i), workflowId: workflow.id });
      if (!claimed) throw new Error(`could not claim ${nodeId}`);
      await nodes.finishNode({
        runId,
        nodeId,
        tenantId,
        ...span(i),
        attempt: claimed.attempt,
        status: 'completed',
        output: { from: nodeId },
        error: null,
        ledger: noLedger,
        isSink: false,
        sinks: ['join'],
        dispatches: successors.map((id) => ({ nodeId: id, jobId: `${runId}.${id}`, carrier: {} })),
      });
    };
    await finish('root', 1, ['a', 'b']);
    await finish('a', 2, ['join']);
    await finish('b', 3, ['join']);
    return { runId, workflowId: workflow.id };
  }

  it('returns the completed outputs of the nodes asked for, and no others', async () => {
    const { runId, workflowId } = await runWithCompletedBranches();
    const claimed = await nodes.claim({ runId, nodeId: 'join', ...span(4), workflowId, outputsOf: ['a'] });
    expect(claimed?.completedOutputs).toEqual({ a: { from: 'a' } });
  });

  it('returns none for a node without ancestors, and all completed ones when not told', async () => {
    const { runId, workflowId } = await runWithCompletedBranches();
    const none = await nodes.claim({ runId, nodeId: 'join', ...span(4), workflowId, outputsOf: [] });
    expect(none?.completedOutputs).toEqual({});
    const all = await nodes.claim({ runId, nodeId: 'join', ...span(5), workflowId });
    expect(all?.completedOutputs).toEqual({
      root: { from: 'root' },
      a: { from: 'a' },
      b: { from: 'b' },
    });
  });

  it('does not claim a node for a job that names another workflow than its run', async () => {
    const { runId } = await runWithCompletedBranches();
    const claimed = await nodes.claim({ runId, nodeId: 'join', ...span(4), workflowId: randomUUID() });
    expect(claimed).toBeNull();
    const [row] = await db.handle
      .sql`select status, attempt from node_runs where run_id = ${runId} and node_id = 'join'`;
    expect(row).toEqual({ status: 'queued', attempt: 0 });
  });
});
