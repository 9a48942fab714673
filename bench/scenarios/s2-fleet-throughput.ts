import type { BenchStack, DrainResult } from '../lib/bench-stack.ts';
import type { BenchContext } from '../lib/context.ts';
import { type Distribution, distribution, median, ratio } from '../lib/stats.ts';
import { type BenchWorkflow, chain, oneNode } from '../lib/workflows.ts';

export type DrainSummary = Omit<DrainResult, 'submitted'>;

export interface VariantResult {
  nodesPerSecond: number;
  reps: DrainSummary[];
  /** Median CPU ms per node, per component. */
  cpuMsPerNode: Record<string, number>;
}

export interface WorkloadResult {
  workflow: string;
  nodesPerRun: number;
  runsPerRep: number;
  traced: VariantResult;
  untraced: VariantResult;
  /** traced ÷ untraced, medians of the same run. */
  ratio: number;
}

export interface FleetThroughputResult {
  workers: number;
  concurrency: number;
  oneNode: WorkloadResult;
  chain: WorkloadResult;
  /** Queue hops of the traced chain drains, at saturation (queue wait included); see scenario 4. */
  saturatedHopsMs: Distribution;
}

export function summarize(drain: DrainResult): DrainSummary {
  const { submitted: _submitted, ...rest } = drain;
  return rest;
}

export function variant(reps: DrainSummary[]): VariantResult {
  const components = Object.keys(reps[0]?.cpuMsPerNode ?? {});
  return {
    nodesPerSecond: median(reps.map((r) => r.nodesPerSecond)),
    reps,
    cpuMsPerNode: Object.fromEntries(
      components.map((c) => [c, median(reps.map((r) => r.cpuMsPerNode[c] ?? 0))]),
    ),
  };
}

/**
 * Scenario 2: node executions per second through the real API, queues, workers and Postgres, traced
 * (exporting to the receiver process) and untraced (`OTEL_SDK_DISABLED=true` in every process), for a
 * 1-node workflow and a 10-node chain, with one `--kinds llm` worker process per fleet. The two fleets run
 * side by side and take turns (ABBA order), so drift on the machine hits both alike.
 */
export async function fleetThroughput(ctx: BenchContext): Promise<FleetThroughputResult> {
  const { oneNodeRuns, chainRuns, chainLength, warmupRuns } = ctx.plan.fleet;
  const [traced, untraced] = await Promise.all([
    ctx.acquire({ name: 's2-traced', traced: true, llmWorkers: 1 }),
    ctx.acquire({ name: 's2-untraced', traced: false, llmWorkers: 1 }),
  ]);
  try {
    const workloads: { key: 'oneNode' | 'chain'; workflow: BenchWorkflow; runs: number }[] = [
      { key: 'oneNode', workflow: oneNode(), runs: oneNodeRuns },
      { key: 'chain', workflow: chain(chainLength), runs: chainRuns },
    ];
    if (warmupRuns > 0) {
      for (const stack of [traced, untraced])
        for (const w of workloads) await stack.drain(w.workflow, warmupRuns);
      await ctx.receiver.waitQuiet(1_200, 30_000);
      await ctx.receiver.clearSpans();
    }
    const drains = new Map<string, DrainSummary[]>();
    const hops: number[] = [];
    for (let rep = 0; rep < ctx.plan.fleet.reps; rep++) {
      for (const w of workloads) {
        const order: BenchStack[] = rep % 2 === 0 ? [traced, untraced] : [untraced, traced];
        for (const stack of order) {
          const drain = await stack.drain(w.workflow, w.runs);
          const key = `${w.key}/${stack.traced ? 'traced' : 'untraced'}`;
          drains.set(key, [...(drains.get(key) ?? []), summarize(drain)]);
          ctx.log(
            `  s2 rep ${rep + 1} ${w.workflow.name} ${stack.traced ? 'traced  ' : 'untraced'}: ` +
              `${drain.nodes} nodes in ${drain.seconds.toFixed(2)} s = ${drain.nodesPerSecond.toFixed(0)}/s`,
          );
          if (stack.traced) {
            const analysis = await ctx.analyze(`s2 ${w.workflow.name} rep ${rep + 1}`, drain.submitted);
            if (w.key === 'chain') hops.push(...analysis.hops.map((h) => h.commitToStart));
          }
        }
      }
    }
    const result = (key: 'oneNode' | 'chain', workflow: BenchWorkflow, runs: number): WorkloadResult => {
      const t = variant(drains.get(`${key}/traced`) ?? []);
      const u = variant(drains.get(`${key}/untraced`) ?? []);
      return {
        workflow: workflow.name,
        nodesPerRun: workflow.nodes.length,
        runsPerRep: runs,
        traced: t,
        untraced: u,
        ratio: ratio(t.nodesPerSecond, u.nodesPerSecond),
      };
    };
    return {
      workers: 1,
      concurrency: ctx.plan.concurrency,
      oneNode: result('oneNode', oneNode(), oneNodeRuns),
      chain: result('chain', chain(chainLength), chainRuns),
      saturatedHopsMs: distribution(hops),
    };
  } finally {
    await Promise.all([ctx.release(traced), ctx.release(untraced)]);
  }
}
