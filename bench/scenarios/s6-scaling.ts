import os from 'node:os';
import type { BenchContext } from '../lib/context.ts';
import { ratio } from '../lib/stats.ts';
import { chain } from '../lib/workflows.ts';
import { type DrainSummary, summarize, type VariantResult, variant } from './s2-fleet-throughput.ts';

export interface ScalingPoint extends VariantResult {
  workers: number;
  /** nodes/s ÷ nodes/s with one worker. */
  speedup: number;
  /** speedup ÷ workers. */
  efficiency: number;
}

export interface ScalingResult {
  cores: number;
  workload: string;
  points: ScalingPoint[];
}

/**
 * Scenario 6: 1, 2 and 4 `--kinds llm` worker processes on the same queue (traced), node executions per
 * second on a 10-node chain workload. On a 2-core machine the API, Redis, Postgres, the receiver and the
 * workers share two cores, so the curve is expected to flatten early.
 */
export async function scaling(ctx: BenchContext): Promise<ScalingResult> {
  const { workers: counts, chainRuns, reps } = ctx.plan.scaling;
  const workflow = chain(ctx.plan.fleet.chainLength);
  const stack = await ctx.acquire({ name: 's6-scaling', traced: true, llmWorkers: counts[0] ?? 1 });
  try {
    const points: ScalingPoint[] = [];
    for (const count of counts) {
      await stack.scaleWorkers(count);
      if (ctx.plan.fleet.warmupRuns > 0) await stack.drain(workflow, ctx.plan.fleet.warmupRuns);
      const drains: DrainSummary[] = [];
      for (let rep = 0; rep < reps; rep++) {
        const drain = await stack.drain(workflow, chainRuns);
        drains.push(summarize(drain));
        ctx.log(`  s6 ${count} worker(s) rep ${rep + 1}: ${drain.nodesPerSecond.toFixed(0)} nodes/s`);
        await ctx.analyze(`s6 ${count} workers rep ${rep + 1}`, drain.submitted);
      }
      const v = variant(drains);
      const base = points[0]?.nodesPerSecond ?? v.nodesPerSecond;
      const speedup = ratio(v.nodesPerSecond, base);
      points.push({ workers: count, ...v, speedup, efficiency: speedup / count });
    }
    return {
      cores: os.availableParallelism(),
      workload: `${chainRuns} runs of a ${workflow.nodes.length}-node chain per repetition`,
      points,
    };
  } finally {
    await ctx.release(stack);
  }
}
