/**
 * Shared by the receiver's tests: the SDK's exporters in every encoding, and what the receiver should
 * make of the SDK's own records (computed from them, not written out by hand).
 */
import type { AnyValue, Attributes, HrTime } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
// The JSON exporters for logs and metrics come with the protobuf ones (which build on them).
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  type DataPoint,
  DataPointType,
  MeterProvider,
  MetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterEach, beforeEach } from 'vitest';
import { OtlpReceiver } from './otlp-receiver.ts';
import type { Attrs, AttrValue, ReceivedLogRecord, ReceivedMetric, ReceivedSpan } from './received-types.ts';

export type ExporterConfig = NonNullable<ConstructorParameters<typeof ProtoTraceExporter>[0]>;
type Compression = NonNullable<ExporterConfig['compression']>;

export interface Encoding {
  protocol: 'http/protobuf' | 'http/json';
  compression: Compression;
  traces: new (config: ExporterConfig) => SpanExporter;
  metrics: new (config: ExporterConfig) => PushMetricExporter;
  logs: new (config: ExporterConfig) => LogRecordExporter;
}

const protobuf = {
  protocol: 'http/protobuf',
  traces: ProtoTraceExporter,
  metrics: ProtoMetricExporter,
  logs: ProtoLogExporter,
} as const;
const json = {
  protocol: 'http/json',
  traces: JsonTraceExporter,
  metrics: JsonMetricExporter,
  logs: JsonLogExporter,
} as const;
/**
 * Both OTLP/HTTP encodings, plain and gzipped. `compression` is typed with an enum of
 * @opentelemetry/otlp-exporter-base, which this package does not depend on directly; its values are
 * these strings.
 */
export const ENCODINGS: Encoding[] = [
  { ...protobuf, compression: 'none' as Compression },
  { ...protobuf, compression: 'gzip' as Compression },
  { ...json, compression: 'none' as Compression },
  { ...json, compression: 'gzip' as Compression },
];

/** A receiver of its own for each test of the calling file; the function returns the current one. */
export function receiverPerTest(): () => OtlpReceiver {
  let receiver: OtlpReceiver | undefined;
  beforeEach(async () => {
    receiver = await OtlpReceiver.start();
  });
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });
  return () => {
    if (receiver === undefined) throw new Error('the receiver exists only while a test runs');
    return receiver;
  };
}

/** What `encoding`'s exporter for `signal` needs to send to `receiver`. */
export function exporterConfig(
  receiver: OtlpReceiver,
  encoding: Encoding,
  signal: 'traces' | 'metrics' | 'logs',
  extra: Partial<ExporterConfig> = {},
): ExporterConfig {
  return { url: `${receiver.endpoint}/v1/${signal}`, compression: encoding.compression, ...extra };
}

export const RESOURCE = {
  'service.name': 'flowtrace-test',
  'service.instance.id': 'worker-1',
  'host.cpu.count': 16,
};
export const SCOPE = { name: 'flowtrace.test', version: '1.2.3' };

/** One attribute of every type an attribute can have, including int64s beyond 2^53. */
export const ALL_TYPES: Attributes = {
  'attr.string': 'text',
  'attr.empty': '',
  'attr.unicode': 'héllo ✓',
  'attr.int': 42,
  'attr.zero': 0,
  'attr.negative': -7,
  'attr.big': 2 ** 60,
  'attr.big.negative': -(2 ** 60),
  'attr.double': 0.25,
  'attr.bool': true,
  'attr.false': false,
  'attr.strings': ['a', 'b'],
  'attr.ints': [1, -2, 3],
  'attr.doubles': [1.5, -2.5],
  'attr.bools': [true, false],
};
export const ALL_TYPES_RECEIVED: Attrs = {
  ...(ALL_TYPES as Attrs),
  'attr.big': '1152921504606846976',
  'attr.big.negative': '-1152921504606846976',
};

// ---- expected values, computed from the SDK's own records ------------------------------------------

const SPAN_KINDS = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
const STATUS_CODES = ['UNSET', 'OK', 'ERROR'] as const;

export function expectedSpan(span: ReadableSpan): ReceivedSpan {
  const context = span.spanContext();
  const status: ReceivedSpan['status'] = { code: STATUS_CODES[span.status.code] };
  if (span.status.message) status.message = span.status.message;
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    name: span.name,
    kind: SPAN_KINDS[span.kind],
    startTimeUnixNano: nanos(span.startTime),
    endTimeUnixNano: nanos(span.endTime),
    attributes: expectedAttrs(span.attributes),
    status,
    events: span.events.map((e) => ({
      name: e.name,
      timeUnixNano: nanos(e.time),
      attributes: expectedAttrs(e.attributes ?? {}),
    })),
    links: span.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      attributes: expectedAttrs(l.attributes ?? {}),
      flags: 0x100 | l.context.traceFlags,
    })),
    resource: expectedAttrs(span.resource.attributes),
    scope: { name: span.instrumentationScope.name, version: span.instrumentationScope.version },
    // OTLP's "has is_remote" bit, which the JS exporters always set, on top of the W3C flags.
    flags: 0x100 | context.traceFlags,
  };
}

export function expectedPoints(resourceMetrics: ResourceMetrics): ReceivedMetric[] {
  const resource = expectedAttrs(resourceMetrics.resource.attributes);
  const out: ReceivedMetric[] = [];
  for (const { scope, metrics } of resourceMetrics.scopeMetrics) {
    for (const metric of metrics) {
      const { name, description, unit } = metric.descriptor;
      const common = (dp: DataPoint<unknown>) => ({
        name,
        description,
        unit,
        attributes: expectedAttrs(dp.attributes),
        startTimeUnixNano: nanos(dp.startTime),
        timeUnixNano: nanos(dp.endTime),
        resource,
        scope: { name: scope.name, version: scope.version },
      });
      const temporality =
        metric.aggregationTemporality === AggregationTemporality.DELTA ? 'DELTA' : 'CUMULATIVE';
      switch (metric.dataPointType) {
        case DataPointType.GAUGE:
          for (const dp of metric.dataPoints) out.push({ ...common(dp), type: 'gauge', value: dp.value });
          break;
        case DataPointType.SUM:
          for (const dp of metric.dataPoints) {
            out.push({
              ...common(dp),
              type: 'sum',
              isMonotonic: metric.isMonotonic,
              temporality,
              value: dp.value,
            });
          }
          break;
        case DataPointType.HISTOGRAM:
          for (const dp of metric.dataPoints) {
            const { count, sum, min, max, buckets } = dp.value;
            const histogram = {
              count,
              sum,
              min,
              max,
              bucketCounts: buckets.counts,
              explicitBounds: buckets.boundaries,
            };
            out.push({ ...common(dp), type: 'histogram', temporality, ...histogram });
          }
          break;
        case DataPointType.EXPONENTIAL_HISTOGRAM:
          for (const dp of metric.dataPoints) {
            const { count, sum, min, max, scale, zeroCount, positive, negative } = dp.value;
            const histogram = { count, sum, min, max, scale, zeroCount, positive, negative };
            out.push({ ...common(dp), type: 'exponentialHistogram', temporality, ...histogram });
          }
          break;
      }
    }
  }
  return out;
}

export function expectedLog(log: ReadableLogRecord): ReceivedLogRecord {
  return {
    timeUnixNano: nanos(log.hrTime),
    observedTimeUnixNano: nanos(log.hrTimeObserved),
    severityNumber: log.severityNumber ?? 0,
    severityText: log.severityText ?? '',
    body: log.body === undefined ? undefined : expectedAttr(log.body),
    attributes: expectedAttrs(log.attributes),
    traceId: log.spanContext?.traceId,
    spanId: log.spanContext?.spanId,
    flags: log.spanContext?.traceFlags,
    eventName: log.eventName,
    resource: expectedAttrs(log.resource.attributes),
    scope: { name: log.instrumentationScope.name, version: log.instrumentationScope.version },
  };
}

/** What an SDK value becomes: the same, except int64s beyond 2^53, which arrive as decimal strings. */
function expectedAttr(value: AnyValue): AttrValue {
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    return BigInt(value).toString();
  }
  if (Array.isArray(value)) return value.map(expectedAttr);
  if (value instanceof Uint8Array) return value;
  if (value !== null && typeof value === 'object') return expectedAttrs(value as Attributes);
  return (value ?? null) as AttrValue;
}

function expectedAttrs(attributes: Attributes): Attrs {
  return Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, expectedAttr(v as AnyValue)]));
}

// ---- recording and exporting ----------------------------------------------------------------------

/** A metric reader that only collects when asked, so a test controls exactly what is exported. */
export class CollectOnDemand extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

export function exportWith<T>(
  exporter: { export(items: T, done: (result: ExportResult) => void): void },
  items: T,
): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(items, resolve));
}

export function recordSpans(count: number): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const tracer = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  }).getTracer('t');
  for (let i = 0; i < count; i++) tracer.startSpan(`span ${i}`).end();
  return memory.getFinishedSpans();
}

export function recordLogs(): ReadableLogRecord[] {
  const memory = new InMemoryLogRecordExporter();
  new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: memory })] })
    .getLogger('t')
    .emit({ body: 'hello' });
  return memory.getFinishedLogRecords();
}

export async function recordMetrics(): Promise<ResourceMetrics> {
  const reader = new CollectOnDemand();
  new MeterProvider({ readers: [reader] }).getMeter('t').createCounter('c').add(1);
  return (await reader.collect()).resourceMetrics;
}

// ---- lookups --------------------------------------------------------------------------------------

function nanos([seconds, nanoseconds]: HrTime): bigint {
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanoseconds);
}

export function find(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const span = spans.find((s) => s.name === name);
  if (span === undefined)
    throw new Error(`no span named ${name} in [${spans.map((s) => s.name).join(', ')}]`);
  return span;
}

export function bySpanId(spans: ReceivedSpan[]): ReceivedSpan[] {
  return [...spans].sort((a, b) => a.spanId.localeCompare(b.spanId));
}

export function bySeq(logs: ReceivedLogRecord[]): ReceivedLogRecord[] {
  return [...logs].sort((a, b) => Number(a.attributes.seq) - Number(b.attributes.seq));
}

export function sortPoints(points: ReceivedMetric[]): ReceivedMetric[] {
  const key = (p: ReceivedMetric) => `${p.name} ${JSON.stringify(p.attributes)}`;
  return [...points].sort((a, b) => key(a).localeCompare(key(b)));
}
