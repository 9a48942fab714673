import { FlowtraceAttributes } from '@flowtrace/telemetry';
import type { ReceivedSpan } from '@flowtrace/telemetry/receiver';

/** A run whose trace the analysis checks: its trace id and the ids of its workflow's nodes. */
export interface RunExpectation {
  runId: string;
  traceId: string;
  nodeIds: string[];
}

/**
 * The spans every run must produce, per run of k nodes with no retries: the API's SERVER span and the
 * run's `invoke_workflow` span, and per node its `send` (PRODUCER), `process` (CONSUMER), claim
 * (`claim_node`), `chat <model>` and `finish_node` spans: 2 + 5k. Other spans (the
 * Fastify request, `create_run`) are counted in the totals but
 * are implementation details, not expectations.
 */
const REQUIRED: readonly { key: string; perNode: boolean; match: (s: ReceivedSpan) => boolean }[] = [
  { key: 'server', perNode: false, match: (s) => s.kind === 'SERVER' && s.name.startsWith('POST /v1/runs') },
  { key: 'invoke_workflow', perNode: false, match: (s) => s.name.startsWith('invoke_workflow') },
  { key: 'send', perNode: true, match: (s) => s.kind === 'PRODUCER' && s.name.startsWith('send nodes.') },
  {
    key: 'process',
    perNode: true,
    match: (s) => s.kind === 'CONSUMER' && s.name.startsWith('process nodes.'),
  },
  { key: 'claim', perNode: true, match: (s) => s.name === 'claim_node' },
  { key: 'chat', perNode: true, match: (s) => s.name.startsWith('chat ') },
  { key: 'finish', perNode: true, match: (s) => s.name === 'finish_node' },
];

/** One queue hop between a finished node and its successor, in milliseconds. */
export interface DispatchHop {
  /** Predecessor's outcome committed (end of its `finish_node`) → successor's `process` starts. */
  commitToStart: number;
  /** Predecessor's `process` span ends → successor's `process` starts (can be negative: see docs). */
  consumerEndToStart: number;
  /** Commit → the successor's `send` span ends (the enqueue round trip to Redis). */
  commitToSent: number;
  /** `send` ends → successor's `process` starts (Redis → a worker picks the job up). */
  sentToStart: number;
}

export interface TraceAnalysis {
  runs: number;
  wholeRuns: number;
  missingInvoke: number;
  missingConsumers: number;
  withOrphans: number;
  /** Traces with more than one span without a parent. */
  extraRoots: number;
  requiredExpected: number;
  requiredReceived: number;
  requiredByKind: Record<string, { expected: number; received: number }>;
  /** All spans of the runs' traces, and all spans the receiver held. */
  spansInRunTraces: number;
  spansReceived: number;
  spansPerRun: { nodes: number; min: number; max: number; mean: number }[];
  hops: DispatchHop[];
  /** Up to five run ids whose trace was not whole, with why. */
  examples: string[];
}

const ms = (nanos: bigint) => Number(nanos) / 1e6;

export function analyzeTraces(
  spans: readonly ReceivedSpan[],
  runs: readonly RunExpectation[],
): TraceAnalysis {
  const wanted = new Set(runs.map((r) => r.traceId));
  const byTrace = new Map<string, ReceivedSpan[]>();
  for (const span of spans) {
    if (!wanted.has(span.traceId)) continue;
    const list = byTrace.get(span.traceId);
    if (list) list.push(span);
    else byTrace.set(span.traceId, [span]);
  }
  const result: TraceAnalysis = {
    runs: runs.length,
    wholeRuns: 0,
    missingInvoke: 0,
    missingConsumers: 0,
    withOrphans: 0,
    extraRoots: 0,
    requiredExpected: 0,
    requiredReceived: 0,
    requiredByKind: Object.fromEntries(REQUIRED.map((r) => [r.key, { expected: 0, received: 0 }])),
    spansInRunTraces: 0,
    spansReceived: spans.length,
    spansPerRun: [],
    hops: [],
    examples: [],
  };
  const perSize = new Map<number, number[]>();
  for (const run of runs) {
    const trace = byTrace.get(run.traceId) ?? [];
    result.spansInRunTraces += trace.length;
    const counts = perSize.get(run.nodeIds.length) ?? [];
    counts.push(trace.length);
    perSize.set(run.nodeIds.length, counts);

    for (const required of REQUIRED) {
      const expected = required.perNode ? run.nodeIds.length : 1;
      const received = Math.min(expected, trace.filter(required.match).length);
      const entry = result.requiredByKind[required.key] as { expected: number; received: number };
      entry.expected += expected;
      entry.received += received;
      result.requiredExpected += expected;
      result.requiredReceived += received;
    }

    const ids = new Map(trace.map((s) => [s.spanId, s]));
    const invoke = trace.some((s) => s.name.startsWith('invoke_workflow'));
    const consumed = new Set(
      trace
        .filter((s) => s.kind === 'CONSUMER')
        .map((s) => String(s.attributes[FlowtraceAttributes.NODE_ID] ?? '')),
    );
    const allConsumers = run.nodeIds.every((id) => consumed.has(id));
    const orphans = trace.filter((s) => s.parentSpanId !== undefined && !ids.has(s.parentSpanId));
    const roots = trace.filter((s) => s.parentSpanId === undefined);
    if (!invoke) result.missingInvoke += 1;
    if (!allConsumers) result.missingConsumers += 1;
    if (orphans.length > 0) result.withOrphans += 1;
    if (roots.length > 1) result.extraRoots += 1;
    const whole = invoke && allConsumers && orphans.length === 0 && roots.length <= 1 && trace.length > 0;
    if (whole) result.wholeRuns += 1;
    else if (result.examples.length < 5) {
      result.examples.push(
        `${run.runId}: ${trace.length} spans, invoke=${invoke}, consumers ${consumed.size}/${run.nodeIds.length}, ` +
          `orphans [${orphans.map((o) => o.name).join(', ')}], roots ${roots.length}`,
      );
    }
    collectHops(trace, ids, result.hops);
  }
  result.spansPerRun = [...perSize].map(([nodes, counts]) => ({
    nodes,
    min: counts.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY),
    max: counts.reduce((a, b) => Math.max(a, b), 0),
    mean: counts.reduce((a, b) => a + b, 0) / counts.length,
  }));
  return result;
}

/** Every consumer whose parent is a `send` made inside another consumer: one queue hop between nodes. */
function collectHops(
  trace: readonly ReceivedSpan[],
  ids: Map<string, ReceivedSpan>,
  out: DispatchHop[],
): void {
  const children = new Map<string, ReceivedSpan[]>();
  for (const span of trace) {
    if (!span.parentSpanId) continue;
    const list = children.get(span.parentSpanId) ?? [];
    list.push(span);
    children.set(span.parentSpanId, list);
  }
  for (const consumer of trace) {
    if (consumer.kind !== 'CONSUMER' || !consumer.parentSpanId) continue;
    const send = ids.get(consumer.parentSpanId);
    if (send?.kind !== 'PRODUCER' || !send.parentSpanId) continue;
    const predecessor = ids.get(send.parentSpanId);
    if (predecessor?.kind !== 'CONSUMER') continue;
    const commit = (children.get(predecessor.spanId) ?? [])
      .filter((s) => s.name === 'finish_node')
      .sort((a, b) => (a.endTimeUnixNano < b.endTimeUnixNano ? 1 : -1))[0];
    if (!commit) continue;
    const start = consumer.startTimeUnixNano;
    out.push({
      commitToStart: ms(start - commit.endTimeUnixNano),
      consumerEndToStart: ms(start - predecessor.endTimeUnixNano),
      commitToSent: ms(send.endTimeUnixNano - commit.endTimeUnixNano),
      sentToStart: ms(start - send.endTimeUnixNano),
    });
  }
}
