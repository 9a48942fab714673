import type { BenchContext } from '../lib/context.ts';
import { ratio } from '../lib/stats.ts';
import { fanOut } from '../lib/workflows.ts';
import { type DrainSummary, summarize, type VariantResult, variant } from './s2-fleet-throughput.ts';

export interface LargeOutputsPoint extends VariantResult {
  /** Nodes per run. */
  nodes: number;
  runsPerRep: number;
}

export interface LargeOutputsResult {
  /** Bytes of text in every node's output. */
  outputBytes: number;
  workload: string;
  points: LargeOutputsPoint[];
  /** Machine CPU per node of the largest workflow ÷ the smallest's: 1.0 is flat. */
  cpuGrowth: number;
  /** Worker and Postgres CPU per node, largest ÷ smallest. */
  workerCpuGrowth: number;
  postgresCpuGrowth: number;
}

/** The simulated provider's answers are ~4 characters per token. */
const CHARS_PER_TOKEN = 4;

/**
 * Scenario 10: claim cost against the size of a run. Fan-out workflows (root → leaves) of a few and of 200
 * nodes, every node answering ~100 KiB of text (a simulated provider with long answers), drained by one
 * traced worker. A leaf's only ancestor is the root, so a claim that reads only the outputs the node can
 * reference reads one output whatever the run's size, and CPU per node stays flat; a claim that read every
 * completed output of the run would read up to 199 of them (quadratic in the run's size).
 */
export async function largeOutputs(ctx: BenchContext): Promise<LargeOutputsResult> {
  const { sizes, nodesPerRep, outputTokens, reps } = ctx.plan.largeOutputs;
  const stack = await ctx.startDedicated({
    name: 's10-large-outputs',
    traced: true,
    llmWorkers: 1,
    env: {
      FLOWTRACE_PROVIDERS: JSON.stringify({ big: { kind: 'simulated', simulated: { outputTokens } } }),
    },
  });
  try {
    const workloads = sizes.map((nodes) => ({
      nodes,
      workflow: fanOut(nodes - 1, 'big', outputTokens),
      runs: Math.max(1, Math.round(nodesPerRep / nodes)),
    }));
    if (!ctx.smoke) {
      for (const w of workloads) await stack.drain(w.workflow, 1, { timeoutMs: 300_000 });
      await ctx.receiver.waitQuiet(1_200, 30_000);
      await ctx.receiver.clearSpans();
    }
    const drains = new Map<number, DrainSummary[]>();
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? workloads : [...workloads].reverse();
      for (const w of order) {
        const drain = await stack.drain(w.workflow, w.runs, { timeoutMs: 300_000 });
        drains.set(w.nodes, [...(drains.get(w.nodes) ?? []), summarize(drain)]);
        ctx.log(
          `  s10 rep ${rep + 1} ${w.nodes}-node fan-out: ${drain.nodes} nodes in ${drain.seconds.toFixed(2)} s, ` +
            `machine ${drain.cpuMsPerNode.total?.toFixed(2)} ms CPU per node`,
        );
        await ctx.analyze(`s10 ${w.nodes}-node fan-out rep ${rep + 1}`, drain.submitted);
      }
    }
    const points = workloads.map((w) => ({
      nodes: w.nodes,
      runsPerRep: w.runs,
      ...variant(drains.get(w.nodes) ?? []),
    }));
    const first = points[0];
    const last = points.at(-1);
    const growth = (component: string) =>
      ratio(last?.cpuMsPerNode[component] ?? Number.NaN, first?.cpuMsPerNode[component] ?? Number.NaN);
    return {
      outputBytes: outputTokens * CHARS_PER_TOKEN,
      workload: `fan-out runs (root → leaves) of ${sizes.join(' and ')} nodes, ~${Math.round(
        (outputTokens * CHARS_PER_TOKEN) / 1024,
      )} KiB of text per node output, ~${nodesPerRep} nodes per repetition, one traced worker`,
      points,
      cpuGrowth: growth('total'),
      workerCpuGrowth: growth('workers'),
      postgresCpuGrowth: growth('postgres'),
    };
  } finally {
    await ctx.stopDedicated(stack);
  }
}
