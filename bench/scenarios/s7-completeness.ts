import type { BenchContext } from '../lib/context.ts';
import { ratio } from '../lib/stats.ts';

export interface CompletenessResult {
  sources: string[];
  runs: number;
  wholeRuns: number;
  /** Runs with one whole trace ÷ runs. */
  wholeRatio: number;
  /** Required spans (2 + 5 per node: see trace-analysis.ts) received ÷ expected. */
  requiredExpected: number;
  requiredReceived: number;
  requiredRatio: number;
  requiredByKind: Record<string, { expected: number; received: number }>;
  missingInvoke: number;
  missingConsumers: number;
  withOrphans: number;
  extraRoots: number;
  /** Spans per run, by workflow size: the full trace, required spans and implementation spans. */
  spansPerRun: { nodes: number; min: number; max: number }[];
  /**
   * Every span the fleets' SDKs processed (`otel.sdk.processor.span.processed`, all outcomes) against every
   * span the receiver got from those processes, over the traced fleets whose collector stayed up.
   */
  sdk: { processed: number; failed: number; received: number; receivedRatio: number };
  examples: string[];
}

/**
 * Scenario 7: span completeness over every traced run of scenarios 2, 4 and 6 (nothing is sampled out):
 * a run's trace is whole when its `invoke_workflow` span is there, a consumer span for every node, and no
 * span whose parent is missing.
 */
export async function completeness(ctx: BenchContext): Promise<CompletenessResult> {
  const analyses = ctx.analyses.map((a) => a.analysis);
  if (analyses.length === 0) throw new Error('s7: no traced runs were analysed');
  const total = (pick: (a: (typeof analyses)[number]) => number) => analyses.reduce((t, a) => t + pick(a), 0);
  const byKind: Record<string, { expected: number; received: number }> = {};
  for (const a of analyses) {
    for (const [kind, v] of Object.entries(a.requiredByKind)) {
      const entry = byKind[kind] ?? { expected: 0, received: 0 };
      entry.expected += v.expected;
      entry.received += v.received;
      byKind[kind] = entry;
    }
  }
  const sizes = new Map<number, { min: number; max: number }>();
  for (const a of analyses) {
    for (const s of a.spansPerRun) {
      const entry = sizes.get(s.nodes) ?? { min: Number.POSITIVE_INFINITY, max: 0 };
      sizes.set(s.nodes, { min: Math.min(entry.min, s.min), max: Math.max(entry.max, s.max) });
    }
  }

  const sdk = await ctx.receiver.sdkSpans();
  const stats = await ctx.receiver.stats();
  const clean = new Set(ctx.fleets.filter((f) => !f.lossy).flatMap((f) => f.pids.map(String)));
  let processed = 0;
  let failed = 0;
  let received = 0;
  for (const pid of clean) {
    processed += (sdk.byPid[pid]?.ok ?? 0) + (sdk.byPid[pid]?.failed ?? 0);
    failed += sdk.byPid[pid]?.failed ?? 0;
    received += stats.receivedByPid[pid] ?? 0;
  }
  const runs = total((a) => a.runs);
  const wholeRuns = total((a) => a.wholeRuns);
  const requiredExpected = total((a) => a.requiredExpected);
  const requiredReceived = total((a) => a.requiredReceived);
  return {
    sources: ctx.analyses.map((a) => a.label),
    runs,
    wholeRuns,
    wholeRatio: ratio(wholeRuns, runs),
    requiredExpected,
    requiredReceived,
    requiredRatio: ratio(requiredReceived, requiredExpected),
    requiredByKind: byKind,
    missingInvoke: total((a) => a.missingInvoke),
    missingConsumers: total((a) => a.missingConsumers),
    withOrphans: total((a) => a.withOrphans),
    extraRoots: total((a) => a.extraRoots),
    spansPerRun: [...sizes].map(([nodes, v]) => ({ nodes, ...v })).sort((a, b) => a.nodes - b.nodes),
    sdk: { processed, failed, received, receivedRatio: ratio(received, processed) },
    examples: analyses.flatMap((a) => a.examples).slice(0, 5),
  };
}
