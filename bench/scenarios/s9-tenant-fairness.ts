import { ApiKeyStore } from '@flowtrace/api';
import type { BenchStack } from '../lib/bench-stack.ts';
import type { BenchContext } from '../lib/context.ts';
import { type Distribution, distribution, sleep } from '../lib/stats.ts';
import type { BenchWorkflow } from '../lib/workflows.ts';

export interface FairnessPhase {
  /** `fair` (QUEUE_ORDER=fair, the default) or `fifo`. */
  order: 'fair' | 'fifo';
  /** Tenant b's runs: submission → its node starting (Postgres timestamps, ms). */
  startDelayMs: Distribution;
  /** Tenant a's runs still queued when b's last run had started. */
  backlogLeft: number;
}

export interface TenantFairnessResult {
  load: string;
  phases: FairnessPhase[];
}

/** One `llm` node on a provider that answers after `latencyMs`: a slow run. */
function slowRun(latencyMs: number): BenchWorkflow {
  return {
    name: `bench-slow-${latencyMs}`,
    nodes: [
      {
        id: 'n0',
        type: 'llm',
        config: { provider: 'slow', model: 'sim-slow', prompt: 'Slow node of run {{input.seq}}' },
      },
    ],
  };
}

const QUICK: BenchWorkflow = {
  name: 'bench-quick',
  nodes: [
    {
      id: 'n0',
      type: 'llm',
      config: { provider: 'simulated', model: 'sim-small', prompt: 'Quick node of run {{input.seq}}' },
    },
  ],
};

/**
 * Scenario 9: fairness across tenants. Tenant a submits a backlog of slow runs at once; while it is queued,
 * tenant b submits a quick run every so often. Records how long b's runs wait to start, with the fair order
 * and (full benchmark only) with first-in first-out for comparison.
 */
export async function tenantFairness(ctx: BenchContext): Promise<TenantFairnessResult> {
  const { backlog, probes, latencyMs, concurrency } = ctx.plan.fairness;
  const orders: FairnessPhase['order'][] = ctx.smoke ? ['fair'] : ['fair', 'fifo'];
  const phases: FairnessPhase[] = [];
  for (const order of orders) {
    // Fresh fleets even in the smoke run: the queue order is a fleet-wide setting.
    const stack = await ctx.startDedicated({
      name: `s9-${order}`,
      traced: false,
      llmWorkers: 1,
      env: {
        QUEUE_ORDER: order,
        WORKER_CONCURRENCY_LLM: String(concurrency),
        FLOWTRACE_PROVIDERS: JSON.stringify({ slow: { kind: 'simulated', simulated: { latencyMs } } }),
      },
    });
    try {
      phases.push({ order, ...(await measure(stack, { backlog, probes, latencyMs })) });
    } finally {
      await ctx.stopDedicated(stack);
    }
  }
  return {
    load: `tenant a: ${backlog} runs of one ${latencyMs} ms node at once; tenant b: ${probes} one-node runs, one every ${latencyMs} ms; one worker running ${concurrency} nodes at once`,
    phases,
  };
}

async function measure(
  stack: BenchStack,
  plan: { backlog: number; probes: number; latencyMs: number },
): Promise<Omit<FairnessPhase, 'order'>> {
  const other = await new ApiKeyStore({ sql: stack.db.handle.sql }).create('bench-tenant-b');
  const submitAsB = async (workflowId: string, seq: number) => {
    const response = await fetch(`${stack.stack.apiUrl}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workflowId, input: { seq } }),
    });
    if (response.status !== 202) throw new Error(`s9: b's submission got ${response.status}`);
    return ((await response.json()) as { runId: string }).runId;
  };
  const registered = await fetch(`${stack.stack.apiUrl}/v1/workflows`, {
    method: 'POST',
    headers: { authorization: `Bearer ${other.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(QUICK),
  });
  const quickId = ((await registered.json()) as { id: string }).id;

  const backlog = await stack.submit(slowRun(plan.latencyMs), plan.backlog, 32);
  const probes: string[] = [];
  for (let i = 0; i < plan.probes; i++) {
    probes.push(await submitAsB(quickId, i));
    await sleep(plan.latencyMs);
  }
  await stack.waitForRuns(
    probes.map((runId) => ({ runId, traceId: '', nodeIds: ['n0'] })),
    120_000,
  );
  const [left] = await stack.db.handle.sql<{ n: number }[]>`
    select count(*)::int as n from runs where id = any(${backlog.map((r) => r.runId)}::uuid[]) and status = 'queued'`;
  const delays = await stack.db.handle.sql<{ ms: number }[]>`
    select extract(epoch from (n.started_at - r.created_at)) * 1000 as ms
    from runs r join node_runs n on n.run_id = r.id where r.id = any(${probes}::uuid[])`;
  await stack.waitForRuns(backlog, 600_000);
  return { startDelayMs: distribution(delays.map((d) => Number(d.ms))), backlogLeft: left?.n ?? 0 };
}
