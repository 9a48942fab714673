import os from 'node:os';
import type { BenchContext } from '../lib/context.ts';
import { median, ratio } from '../lib/stats.ts';
import { chainOn } from '../lib/workflows.ts';
import { type DrainSummary, summarize, type VariantResult, variant } from './s2-fleet-throughput.ts';

export interface LatencyScalingPoint extends VariantResult {
  workers: number;
  runsPerRep: number;
  /** nodes/s ÷ nodes/s with one worker. */
  speedup: number;
  /** speedup ÷ workers: 1.0 is linear. */
  efficiency: number;
  /** Busy share of the machine's cores during the drains (median). */
  machineUtilisation: number;
  /** What the workers could do at most: workers × concurrency ÷ provider latency. */
  idealNodesPerSecond: number;
}

export interface LatencyScalingResult {
  cores: number;
  latencyMs: number;
  concurrency: number;
  workload: string;
  points: LatencyScalingPoint[];
  /** Points measured before the machine saturated (utilisation under `SATURATED`). */
  linearPoints: number;
  /** The smallest efficiency among those points (NaN when there are none beyond one worker). */
  minLinearEfficiency: number;
  /** The first worker count at which the machine was saturated, or null if none was. */
  saturatedAt: number | null;
}

/** Utilisation from which the machine counts as saturated: the CPU, not the provider, sets the pace. */
export const SATURATED = 0.85;

/**
 * Scenario 11: horizontal scaling where it is latency, not CPU, that bounds a worker: every node waits on
 * a simulated provider with 100 ms latency (the realistic AI case), one traced fleet with 1, 2, 4 and 8
 * `--kinds llm` worker processes (each running WORKER_CONCURRENCY nodes at once) on 10-node chains, the
 * runs per repetition growing with the workers so each has twice its concurrency in runs. Throughput
 * should grow linearly (each worker adds concurrency ÷ latency nodes/s) until the machine's CPU saturates;
 * the point where it does is where per-node CPU cost, not latency, becomes the limit.
 */
export async function latencyScaling(ctx: BenchContext): Promise<LatencyScalingResult> {
  const { workers: counts, latencyMs, runsPerWorker, reps } = ctx.plan.latencyScaling;
  const concurrency = ctx.plan.concurrency;
  const workflow = chainOn(ctx.plan.fleet.chainLength, 'remote');
  const stack = await ctx.startDedicated({
    name: 's11-latency-scaling',
    traced: true,
    llmWorkers: counts[0] ?? 1,
    env: {
      FLOWTRACE_PROVIDERS: JSON.stringify({ remote: { kind: 'simulated', simulated: { latencyMs } } }),
    },
  });
  try {
    const points: LatencyScalingPoint[] = [];
    for (const count of counts) {
      await stack.scaleWorkers(count);
      const runs = runsPerWorker * count;
      // Every new worker warms up (connections, JIT) before the measured drains.
      await stack.drain(workflow, Math.max(1, Math.round(runs / 2)));
      await ctx.receiver.waitQuiet(1_200, 30_000);
      await ctx.receiver.clearSpans();
      const drains: DrainSummary[] = [];
      for (let rep = 0; rep < reps; rep++) {
        const drain = await stack.drain(workflow, runs);
        drains.push(summarize(drain));
        ctx.log(
          `  s11 ${count} worker(s) rep ${rep + 1}: ${drain.nodesPerSecond.toFixed(0)} nodes/s, ` +
            `machine ${(drain.machineUtilisation * 100).toFixed(0)} % busy`,
        );
        await ctx.analyze(`s11 ${count} workers rep ${rep + 1}`, drain.submitted);
      }
      const v = variant(drains);
      const base = points[0]?.nodesPerSecond ?? v.nodesPerSecond;
      const speedup = ratio(v.nodesPerSecond, base);
      points.push({
        workers: count,
        runsPerRep: runs,
        ...v,
        speedup,
        efficiency: speedup / count,
        machineUtilisation: median(drains.map((d) => d.machineUtilisation)),
        idealNodesPerSecond: (count * concurrency * 1000) / latencyMs,
      });
    }
    const saturated = points.find((p) => p.machineUtilisation >= SATURATED);
    const linear = points.filter((p) => p.workers > 1 && p.machineUtilisation < SATURATED);
    return {
      cores: os.availableParallelism(),
      latencyMs,
      concurrency,
      workload: `10-node chains on a simulated provider answering after ${latencyMs} ms; ${runsPerWorker} runs per worker per repetition`,
      points,
      linearPoints: linear.length,
      minLinearEfficiency: linear.length > 0 ? Math.min(...linear.map((p) => p.efficiency)) : Number.NaN,
      saturatedAt: saturated?.workers ?? null,
    };
  } finally {
    await ctx.stopDedicated(stack);
  }
}
