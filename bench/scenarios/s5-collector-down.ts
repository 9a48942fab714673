import type { SubmittedRun } from '../lib/bench-stack.ts';
import type { BenchContext } from '../lib/context.ts';
import type { SdkSpanCounts } from '../lib/receiver-protocol.ts';
import { median, ratio, sleep } from '../lib/stats.ts';
import type { TraceAnalysis } from '../lib/trace-analysis.ts';
import { chain } from '../lib/workflows.ts';

const MB = 1024 * 1024;

export interface CollectorPhase {
  state: 'up' | 'down';
  nodes: number;
  nodesPerSecond: number;
  failedRuns: number;
  /** Highest RSS of the worker process(es) and of the API while the phase ran, MB. */
  workerRssMaxMb: number;
  apiRssMaxMb: number;
  /** Highest V8 heap used by the worker(s) in the phase (runtime metrics, every 2 s), MB. */
  workerHeapMaxMb: number;
  /** SDK self-metric deltas over the phase (until the next phase starts), all processes. */
  spansExportedOk: number;
  spansFailed: number;
  failedByErrorType: Record<string, number>;
  spansReceived: number;
  traceRequests: number;
}

export interface CollectorDownResult {
  workload: string;
  refusal: string;
  phases: CollectorPhase[];
  upNodesPerSecond: number;
  downNodesPerSecond: number;
  /** down ÷ up, medians of the same run. */
  ratio: number;
  /** Highest worker RSS during the warm-up drains (same load, collector up), MB. */
  workerRssBaselineMb: number;
  workerRssMaxUpMb: number;
  workerRssMaxDownMb: number;
  /** Highest worker RSS with the collector down minus the warm-up's highest. */
  workerRssGrowthMb: number;
  /** The control: the same for the collector-up phases. */
  workerRssGrowthUpMb: number;
  workerHeapBaselineMb: number;
  workerHeapMaxUpMb: number;
  workerHeapMaxDownMb: number;
  failedRuns: number;
  /** Over the whole scenario, after recovery: every span the SDKs processed, and what became of it. */
  spans: {
    processed: number;
    exportedOk: number;
    dropped: number;
    droppedByErrorType: Record<string, number>;
    receivedByCollector: number;
    stillQueued: number;
  };
  /** Required spans of runs submitted while the collector was down, as received after recovery. */
  downRuns: Pick<TraceAnalysis, 'runs' | 'wholeRuns' | 'requiredExpected' | 'requiredReceived'>;
  upRuns: Pick<TraceAnalysis, 'runs' | 'wholeRuns' | 'requiredExpected' | 'requiredReceived'>;
}

/**
 * Scenario 5: the trace endpoint answers 503 (a collector that refuses; OTLP exporters retry that) during
 * alternate phases of sustained load, while metrics go to a second endpoint that stays up, so the SDKs'
 * `otel.sdk.processor.span.processed` counter (with `error.type` on spans given up) keeps arriving and
 * counts what was dropped. Throughput and worker RSS are compared with the collector-up phases.
 */
export async function collectorDown(ctx: BenchContext): Promise<CollectorDownResult> {
  const { chainRuns, reps } = ctx.plan.collectorDown;
  const workflow = chain(ctx.plan.fleet.chainLength);
  const stack = await ctx.acquire({ name: 's5-collector', traced: true, llmWorkers: 1 });
  ctx.markLossy(stack);
  const maxRss = { worker: 0, api: 0 };
  const sampler = setInterval(() => {
    maxRss.worker = Math.max(maxRss.worker, ...stack.workerRss());
    maxRss.api = Math.max(maxRss.api, stack.apiRss());
  }, 100);
  try {
    await ctx.receiver.setTraceResponse(null);
    const workerPids = () => stack.workers.map((w) => String(w.pid));
    const heapOf = (peaks: Record<string, number>) =>
      Math.max(0, ...workerPids().map((pid) => peaks[pid] ?? 0)) / MB;
    // Warm-up under the same load with the collector up, until the worker's RSS stops rising (a
    // high-water mark: V8 keeps the pages it grew into), so that what follows compares like with like.
    await ctx.receiver.heapPeaks(true);
    const warmups = ctx.smoke ? 1 : 6;
    let plateau = 0;
    for (let i = 0; i < warmups; i++) {
      await stack.drain(workflow, chainRuns);
      const grew = maxRss.worker - plateau;
      plateau = maxRss.worker;
      if (i >= 1 && grew < 10 * MB) break;
    }
    ctx.log(`  s5 warm-up: worker RSS ${(plateau / MB).toFixed(0)} MB`);
    await ctx.receiver.waitQuiet(1_200, 30_000);
    await ctx.receiver.clearSpans();
    await sleep(2_500); // one metrics export after the warm-up
    const baselineRss = maxRss.worker;
    const baselineHeap = heapOf(await ctx.receiver.heapPeaks(true));
    let previous: SdkSpanCounts = await ctx.receiver.sdkSpans();
    const start = previous;
    let previousReceived = (await ctx.receiver.stats()).spans;
    let previousRequests = (await ctx.receiver.stats()).traceRequests;

    const order: ('up' | 'down')[] = [];
    for (let rep = 0; rep < reps; rep++)
      order.push(...(rep % 2 === 0 ? (['up', 'down'] as const) : (['down', 'up'] as const)));
    const phases: CollectorPhase[] = [];
    const submitted: Record<'up' | 'down', SubmittedRun[]> = { up: [], down: [] };
    for (const state of order) {
      await ctx.receiver.setTraceResponse(state === 'down' ? 503 : null);
      maxRss.worker = 0;
      maxRss.api = 0;
      await ctx.receiver.heapPeaks(true);
      const drain = await stack.drain(workflow, chainRuns);
      submitted[state].push(...drain.submitted);
      await sleep(2_500); // let a metrics export report the phase's spans
      const now = await ctx.receiver.sdkSpans();
      const stats = await ctx.receiver.stats();
      const heap = heapOf(await ctx.receiver.heapPeaks(true));
      const failedByErrorType: Record<string, number> = {};
      for (const [type, count] of Object.entries(now.byErrorType)) {
        const delta = count - (previous.byErrorType[type] ?? 0);
        if (delta > 0) failedByErrorType[type] = delta;
      }
      phases.push({
        state,
        nodes: drain.nodes,
        nodesPerSecond: drain.nodesPerSecond,
        failedRuns: drain.failedRuns,
        workerRssMaxMb: maxRss.worker / MB,
        apiRssMaxMb: maxRss.api / MB,
        workerHeapMaxMb: heap,
        spansExportedOk: now.ok - previous.ok,
        spansFailed: now.failed - previous.failed,
        failedByErrorType,
        spansReceived: stats.spans - previousReceived,
        traceRequests: stats.traceRequests - previousRequests,
      });
      ctx.log(
        `  s5 collector ${state.padEnd(4)}: ${drain.nodesPerSecond.toFixed(0)} nodes/s, worker RSS max ` +
          `${(maxRss.worker / MB).toFixed(0)} MB (heap ${heap.toFixed(0)} MB), spans ok ${now.ok - previous.ok}, failed ${now.failed - previous.failed}`,
      );
      previous = now;
      previousReceived = stats.spans;
      previousRequests = stats.traceRequests;
    }

    // Recovery: the collector is back; wait for the batch processors to empty their queues.
    await ctx.receiver.setTraceResponse(null);
    let end = await ctx.receiver.sdkSpans();
    for (let i = 0; i < 40 && end.queued > 0; i++) {
      await sleep(500);
      end = await ctx.receiver.sdkSpans();
    }
    await ctx.receiver.waitQuiet(1_200, 30_000);
    await sleep(2_500);
    end = await ctx.receiver.sdkSpans();
    const received = (await ctx.receiver.stats()).spans;
    const pick = (a: TraceAnalysis) => ({
      runs: a.runs,
      wholeRuns: a.wholeRuns,
      requiredExpected: a.requiredExpected,
      requiredReceived: a.requiredReceived,
    });
    const downRuns = pick(await ctx.receiver.analyze(submitted.down, false));
    const upRuns = pick(await ctx.receiver.analyze(submitted.up, true));

    const droppedByErrorType: Record<string, number> = {};
    for (const [type, count] of Object.entries(end.byErrorType)) {
      const delta = count - (start.byErrorType[type] ?? 0);
      if (delta > 0) droppedByErrorType[type] = delta;
    }
    const up = phases.filter((p) => p.state === 'up');
    const down = phases.filter((p) => p.state === 'down');
    const upMedian = median(up.map((p) => p.nodesPerSecond));
    const downMedian = median(down.map((p) => p.nodesPerSecond));
    const maxDown = Math.max(...down.map((p) => p.workerRssMaxMb));
    const maxUp = Math.max(...up.map((p) => p.workerRssMaxMb));
    return {
      workload: `${chainRuns} runs of a ${workflow.nodes.length}-node chain per phase, drained at saturation`,
      refusal: 'trace endpoint answers HTTP 503 (retryable); metrics endpoint up',
      phases,
      upNodesPerSecond: upMedian,
      downNodesPerSecond: downMedian,
      ratio: ratio(downMedian, upMedian),
      workerRssBaselineMb: baselineRss / MB,
      workerRssMaxUpMb: maxUp,
      workerRssMaxDownMb: maxDown,
      workerRssGrowthMb: maxDown - baselineRss / MB,
      workerRssGrowthUpMb: maxUp - baselineRss / MB,
      workerHeapBaselineMb: baselineHeap,
      workerHeapMaxUpMb: Math.max(...up.map((p) => p.workerHeapMaxMb)),
      workerHeapMaxDownMb: Math.max(...down.map((p) => p.workerHeapMaxMb)),
      failedRuns: phases.reduce((total, p) => total + p.failedRuns, 0),
      spans: {
        processed: end.total - start.total,
        exportedOk: end.ok - start.ok,
        dropped: end.failed - start.failed,
        droppedByErrorType,
        receivedByCollector: received,
        stillQueued: end.queued,
      },
      downRuns,
      upRuns,
    };
  } finally {
    clearInterval(sampler);
    await ctx.receiver.setTraceResponse(null);
    await ctx.receiver.clearSpans();
    await ctx.release(stack);
  }
}
