import type { BenchContext } from '../lib/context.ts';
import { type Distribution, distribution } from '../lib/stats.ts';
import { chain, fanOutIn } from '../lib/workflows.ts';

export interface DispatchLatencyResult {
  load: string;
  hops: number;
  /** The headline: predecessor's outcome committed → successor's `process` span starts. */
  commitToStartMs: Distribution;
  /** The literal "consumer span end → consumer span start" (see docs: the predecessor's span ends late). */
  consumerEndToStartMs: Distribution;
  /** Parts of the headline: enqueue round trip, then Redis → a worker. */
  commitToSentMs: Distribution;
  sentToStartMs: Distribution;
  /** Fan-out/fan-in runs: every hop of split → branches → join. */
  fanCommitToStartMs: Distribution;
  /** The same hops from Postgres (`node_runs.started_at` − predecessor's `finished_at`, ms precision). */
  postgresMs: Distribution;
}

/**
 * Scenario 4: dispatch latency, traced, at a light steady load (an open-loop schedule of chain runs well
 * below the fleet's capacity, so that hops are not queue wait). Measured from the spans; the Postgres
 * timestamps are shown beside them for comparison.
 */
export async function dispatchLatency(ctx: BenchContext): Promise<DispatchLatencyResult> {
  const { chainRuns, perSecond, fanRuns, fanWidth } = ctx.plan.dispatch;
  const stack = await ctx.acquire({ name: 's4-dispatch', traced: true, llmWorkers: 1 });
  try {
    const workflow = chain(ctx.plan.fleet.chainLength);
    const fan = fanOutIn(fanWidth);
    // Warm the worker (JIT, connections, the workflow cache) so the first hops are not outliers.
    const warm = await stack.submit(workflow, 3);
    await stack.waitForRuns(warm, 30_000);
    await ctx.receiver.waitQuiet(1_200, 30_000);
    await ctx.receiver.clearSpans();

    const runs = await stack.submitPaced(workflow, chainRuns, perSecond);
    await stack.waitForRuns(runs, 60_000);
    const analysis = await ctx.analyze('s4 chain (paced)', runs);
    const fanSubmitted = await stack.submitPaced(fan, fanRuns, Math.max(1, perSecond / 2));
    await stack.waitForRuns(fanSubmitted, 60_000);
    const fanAnalysis = await ctx.analyze('s4 fan-out/fan-in (paced)', fanSubmitted);
    if (analysis.hops.length === 0) throw new Error('s4: no queue hops found in the traces');

    const ids = runs.map((r) => r.runId);
    const rows = await stack.db.handle.sql<{ gap: number }[]>`
      select extract(epoch from (s.started_at - p.finished_at)) * 1000 as gap
      from node_runs s
      join node_runs p on p.run_id = s.run_id and p.node_id = s.depends_on[1]
      where s.run_id = any(${ids}::uuid[]) and cardinality(s.depends_on) = 1`;
    return {
      load: `${chainRuns} runs of a ${workflow.nodes.length}-node chain at ${perSecond} runs/s (${
        perSecond * workflow.nodes.length
      } nodes/s), then ${fanRuns} fan-out/fan-in runs (1 → ${fanWidth} → 1)`,
      hops: analysis.hops.length,
      commitToStartMs: distribution(analysis.hops.map((h) => h.commitToStart)),
      consumerEndToStartMs: distribution(analysis.hops.map((h) => h.consumerEndToStart)),
      commitToSentMs: distribution(analysis.hops.map((h) => h.commitToSent)),
      sentToStartMs: distribution(analysis.hops.map((h) => h.sentToStart)),
      fanCommitToStartMs: distribution(fanAnalysis.hops.map((h) => h.commitToStart)),
      postgresMs: distribution(rows.map((r) => Number(r.gap))),
    };
  } finally {
    await ctx.release(stack);
  }
}
