import { OtlpReceiver, type ReceivedMetric } from '@flowtrace/telemetry/receiver';
import type { ReceiverRequest, SdkSpanCounts } from '../lib/receiver-protocol.ts';
import { analyzeTraces, type RunExpectation } from '../lib/trace-analysis.ts';

/**
 * The benchmark's collector, in a process of its own so that decoding OTLP costs CPU here and not in
 * the fleet's processes or the load generator. Two receivers on loopback:
 *
 * - `traces`: spans only (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). Its answer can be switched to 503 to play a
 *   collector that is down.
 * - `signals`: metrics and logs (`OTEL_EXPORTER_OTLP_ENDPOINT`), always up. The SDKs' own
 *   `otel.sdk.processor.span.processed` counter arrives here, so spans dropped while the trace endpoint
 *   refuses are still counted. Its points are folded into running totals and discarded as they arrive, so
 *   its memory stays flat for any run length.
 *
 * Driven over the IPC channel by `ReceiverClient`.
 */

const PROCESSED = 'otel.sdk.processor.span.processed';
const HEAP_USED = 'v8js.memory.heap.used';
const QUEUE_SIZE = 'otel.sdk.processor.span.queue.size';

const traces = await OtlpReceiver.start();
const signals = await OtlpReceiver.start();

interface Series {
  service: string;
  pid: string;
  errorType: string;
  value: number;
  time: bigint;
}
const processed = new Map<string, Series>();
const queueSizes = new Map<string, number>();
/** V8 heap used per process: the latest value per heap space, and the highest total seen since a reset. */
const heapSpaces = new Map<string, Map<string, number>>();
const heapPeak = new Map<string, number>();
let metricPoints = 0;
let logRecords = 0;

function fold(): void {
  const points = signals.metrics();
  logRecords += signals.logs().length;
  signals.clear();
  metricPoints += points.length;
  const touched = new Set<string>();
  for (const point of points) {
    foldPoint(point);
    if (point.name === HEAP_USED) touched.add(String(point.resource['process.pid'] ?? '?'));
  }
  for (const pid of touched) {
    const total = [...(heapSpaces.get(pid)?.values() ?? [])].reduce((a, b) => a + b, 0);
    heapPeak.set(pid, Math.max(heapPeak.get(pid) ?? 0, total));
  }
}

function foldPoint(point: ReceivedMetric): void {
  const instance = String(point.resource['service.instance.id'] ?? '?');
  const service = String(point.resource['service.name'] ?? '?');
  const pid = String(point.resource['process.pid'] ?? '?');
  const component = String(point.attributes['otel.component.name'] ?? '?');
  if (point.name === PROCESSED) {
    const errorType =
      point.attributes['error.type'] === undefined ? '' : String(point.attributes['error.type']);
    const key = `${instance}|${component}|${errorType}`;
    const value = point.value ?? 0;
    const previous = processed.get(key);
    if (point.temporality === 'DELTA') {
      processed.set(key, {
        service,
        pid,
        errorType,
        value: (previous?.value ?? 0) + value,
        time: point.timeUnixNano,
      });
    } else if (!previous || point.timeUnixNano >= previous.time) {
      processed.set(key, { service, pid, errorType, value, time: point.timeUnixNano });
    }
  } else if (point.name === HEAP_USED) {
    const pid = String(point.resource['process.pid'] ?? '?');
    const spaces = heapSpaces.get(pid) ?? new Map<string, number>();
    spaces.set(String(point.attributes['v8js.heap.space.name'] ?? '?'), point.value ?? 0);
    heapSpaces.set(pid, spaces);
  } else if (point.name === QUEUE_SIZE) {
    queueSizes.set(`${instance}|${component}`, point.value ?? 0);
  }
}

setInterval(fold, 200).unref();

/** Spans received per exporting process (`process.pid`), cumulative: clearing the spans keeps these. */
const receivedByPid: Record<string, number> = {};
let counted = 0;
function countReceived(): void {
  const spans = traces.spans();
  for (let i = counted; i < spans.length; i++) {
    const pid = String(spans[i]?.resource['process.pid'] ?? '?');
    receivedByPid[pid] = (receivedByPid[pid] ?? 0) + 1;
  }
  counted = spans.length;
}
function clearSpans(): void {
  countReceived();
  traces.clear();
  counted = 0;
}

function sdkSpans(): SdkSpanCounts {
  fold();
  const byErrorType: Record<string, number> = {};
  const byService: Record<string, number> = {};
  const byPid: Record<string, { ok: number; failed: number }> = {};
  let ok = 0;
  let failed = 0;
  for (const series of processed.values()) {
    if (series.errorType === '') ok += series.value;
    else {
      failed += series.value;
      byErrorType[series.errorType] = (byErrorType[series.errorType] ?? 0) + series.value;
    }
    byService[series.service] = (byService[series.service] ?? 0) + series.value;
    const entry = byPid[series.pid] ?? { ok: 0, failed: 0 };
    if (series.errorType === '') entry.ok += series.value;
    else entry.failed += series.value;
    byPid[series.pid] = entry;
  }
  let queued = 0;
  for (const size of queueSizes.values()) queued += size;
  return { ok, failed, total: ok + failed, byErrorType, byService, byPid, queued, metricPoints, logRecords };
}

async function waitQuiet(quietMs: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let count = traces.spans().length;
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = traces.spans().length;
    if (now !== count) {
      count = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) break;
  }
  return count;
}

async function handle(request: ReceiverRequest): Promise<unknown> {
  switch (request.kind) {
    case 'setTraceResponse':
      traces.setResponse(request.status);
      return null;
    case 'stats':
      countReceived();
      return {
        receivedByPid: { ...receivedByPid },
        spans: traces.spans().length,
        traceRequests: traces.requests.traces,
        errors: traces.errors().length + signals.errors().length,
      };
    case 'sdkSpans':
      return sdkSpans();
    case 'waitQuiet':
      return waitQuiet(request.quietMs, request.timeoutMs);
    case 'analyze': {
      const result = analyzeTraces(traces.spans(), request.runs as RunExpectation[]);
      if (request.clear) clearSpans();
      return result;
    }
    case 'heapPeaks': {
      fold();
      const peaks = Object.fromEntries(heapPeak);
      if (request.reset) heapPeak.clear();
      return peaks;
    }
    case 'clearSpans':
      clearSpans();
      return null;
    case 'spanNames': {
      const names: Record<string, number> = {};
      for (const span of traces.spans()) names[span.name] = (names[span.name] ?? 0) + 1;
      return names;
    }
  }
}

process.on('message', (message: { id: number; request: ReceiverRequest }) => {
  handle(message.request).then(
    (result) => process.send?.({ id: message.id, result }),
    (error: unknown) => process.send?.({ id: message.id, error: String((error as Error)?.stack ?? error) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: { traces: traces.endpoint, signals: signals.endpoint } });
