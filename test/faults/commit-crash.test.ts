import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { type LocalStack, startLocalStack } from '@flowtrace/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_RECOVERY_ENV, orphans, stackClient } from '../support/stack-client.ts';

/**
 * A worker dies between the Postgres commit that made a node's successors ready and their enqueue (a
 * failpoint makes it exit right there). The successors are queued in Postgres with no job in Redis; the
 * reconciler enqueues them and the run completes, in the same trace.
 */
describe('crash between commit and enqueue', () => {
  let db: TestDatabase;
  let stack: LocalStack;
  let client: ReturnType<typeof stackClient>;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startLocalStack({
      dataDir: `/tmp/flowtrace-commit-crash-${process.pid}`,
      databaseUrl: db.url,
      // Only the crashing worker consumes llm jobs at first.
      workers: [{ kinds: ['llm'], env: { FLOWTRACE_FAILPOINT: 'exit-after-commit:first' } }],
      env: { ...FAST_RECOVERY_ENV },
    });
    client = stackClient(stack);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await db?.drop();
  });

  it('re-drives the successors the crashed worker never enqueued', async () => {
    const llm = (id: string, dependsOn: string[] = []) => ({
      id,
      type: 'llm',
      dependsOn,
      config: { provider: 'simulated', model: 'sim-small', prompt: `step ${id}` },
    });
    const submitted = await client.api('POST', '/v1/runs', {
      workflow: {
        name: 'commit-crash',
        nodes: [
          llm('first'),
          llm('left', ['first']),
          llm('right', ['first']),
          llm('last', ['left', 'right']),
        ],
      },
    });
    const runId = submitted.body.runId as string;
    const crashed = stack.workers[0];
    const exit = await crashed?.exited;
    expect(exit?.code).toBe(137);
    // At the moment of the crash Postgres has `first` done and its successors queued, but Redis has no job.
    const nodes = await db.handle
      .sql`select node_id, status from node_runs where run_id = ${runId} order by node_id`;
    expect(Object.fromEntries(nodes.map((n) => [n.node_id, n.status]))).toEqual({
      first: 'completed',
      last: 'pending',
      left: 'queued',
      right: 'queued',
    });

    await stack.startWorker({ kinds: ['llm'] });
    const run = await client.waitForRun(runId, 60_000);
    expect(run.status).toBe('completed');
    for (const node of run.nodes) expect(node.attempts, node.nodeId).toBe(1);
    const spans = await client.traceOf(run.traceId);
    const redrives = spans.filter((s) => s.attributes['flowtrace.redrive.reason'] === 'job_missing');
    expect(redrives.map((s) => s.attributes['flowtrace.node.id']).sort()).toEqual(['left', 'right']);
    expect(orphans(spans).map((s) => s.name)).toEqual([]);
  });
});
