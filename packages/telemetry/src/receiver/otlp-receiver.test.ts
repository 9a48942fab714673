import {
  type AnyValue,
  type Attributes,
  type HrTime,
  ROOT_CONTEXT,
  SeverityNumber,
  SpanKind,
  SpanStatusCode,
  trace,
  ValueType,
} from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
// The JSON exporters for logs and metrics come with the protobuf ones (which build on them).
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  AggregationType,
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
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OtlpReceiver } from './otlp-receiver.ts';
import type { Attrs, AttrValue, ReceivedLogRecord, ReceivedMetric, ReceivedSpan } from './received-types.ts';

type ExporterConfig = NonNullable<ConstructorParameters<typeof ProtoTraceExporter>[0]>;
type Compression = NonNullable<ExporterConfig['compression']>;

interface Encoding {
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
// `compression` is typed with an enum of @opentelemetry/otlp-exporter-base, which this package does not
// depend on directly; its values are these strings.
const ENCODINGS: Encoding[] = [
  { ...protobuf, compression: 'none' as Compression },
  { ...protobuf, compression: 'gzip' as Compression },
  { ...json, compression: 'none' as Compression },
  { ...json, compression: 'gzip' as Compression },
];

const RESOURCE = {
  'service.name': 'flowtrace-test',
  'service.instance.id': 'worker-1',
  'host.cpu.count': 16,
};
const SCOPE = { name: 'flowtrace.test', version: '1.2.3' };

/** One attribute of every type an attribute can have, including int64s beyond 2^53. */
const ALL_TYPES: Attributes = {
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
const ALL_TYPES_RECEIVED: Attrs = {
  ...(ALL_TYPES as Attrs),
  'attr.big': '1152921504606846976',
  'attr.big.negative': '-1152921504606846976',
};

let receiver: OtlpReceiver;
beforeEach(async () => {
  receiver = await OtlpReceiver.start();
});
afterEach(async () => {
  await receiver.close();
});

describe.each(ENCODINGS)('OtlpReceiver with $protocol, compression $compression', (encoding) => {
  const config = (signal: string, extra: Partial<ExporterConfig> = {}): ExporterConfig => ({
    url: `${receiver.endpoint}/v1/${signal}`,
    compression: encoding.compression,
    ...extra,
  });

  it('receives spans exactly as the SDK recorded them', async () => {
    const memory = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource: resourceFromAttributes(RESOURCE),
      spanProcessors: [
        new SimpleSpanProcessor({ exporter: memory }),
        new SimpleSpanProcessor({ exporter: new encoding.traces(config('traces')) }),
      ],
    });
    const tracer = provider.getTracer(SCOPE.name, SCOPE.version);
    const earlier = tracer.startSpan('earlier run', { kind: SpanKind.CONSUMER });
    earlier.end();
    const root = tracer.startSpan('POST /v1/runs', { kind: SpanKind.SERVER, attributes: ALL_TYPES });
    const inRoot = trace.setSpan(ROOT_CONTEXT, root);
    const links = [{ context: earlier.spanContext(), attributes: { 'link.reason': 'retry-of' } }];
    tracer.startSpan('enqueue run', { kind: SpanKind.PRODUCER, links }, inRoot).end();
    const call = tracer.startSpan('chat model', { kind: SpanKind.CLIENT }, inRoot);
    call.addEvent('gen_ai.choice', { index: 0, 'finish.reason': 'stop', tokens: [3, 5] });
    call.recordException(new TypeError('rate limited'));
    call.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
    call.end();
    const render = tracer.startSpan('render template', {}, inRoot);
    render.setStatus({ code: SpanStatusCode.OK });
    render.end();
    root.end();
    await provider.forceFlush();

    const spans = await receiver.waitFor(() => receiver.spans().length === 5 && receiver.spans(), {
      message: 'five spans',
    });
    expect(bySpanId(spans)).toEqual(bySpanId(memory.getFinishedSpans().map(expectedSpan)));

    const { traceId, spanId: rootId } = root.spanContext();
    expect(find(spans, 'POST /v1/runs')).toMatchObject({
      traceId,
      spanId: rootId,
      parentSpanId: undefined,
      kind: 'SERVER',
      attributes: ALL_TYPES_RECEIVED,
      status: { code: 'UNSET' },
      resource: RESOURCE,
      scope: SCOPE,
      flags: 0x101,
    });
    expect(find(spans, 'enqueue run')).toMatchObject({ traceId, parentSpanId: rootId, kind: 'PRODUCER' });
    const { traceId: earlierTraceId, spanId: earlierId } = earlier.spanContext();
    expect(find(spans, 'enqueue run').links).toEqual([
      { traceId: earlierTraceId, spanId: earlierId, attributes: { 'link.reason': 'retry-of' }, flags: 0x101 },
    ]);
    const received = find(spans, 'chat model');
    expect(received).toMatchObject({ traceId, parentSpanId: rootId, kind: 'CLIENT' });
    expect(received.status).toEqual({ code: 'ERROR', message: 'rate limited' });
    expect(received.events.map((e) => e.name)).toEqual(['gen_ai.choice', 'exception']);
    expect(received.events[0]?.attributes).toEqual({ index: 0, 'finish.reason': 'stop', tokens: [3, 5] });
    expect(received.events[1]?.attributes).toMatchObject({
      'exception.type': 'TypeError',
      'exception.message': 'rate limited',
    });
    expect(find(spans, 'render template')).toMatchObject({ kind: 'INTERNAL', status: { code: 'OK' } });
    expect(find(spans, 'earlier run')).toMatchObject({ kind: 'CONSUMER', parentSpanId: undefined });
    expect(receiver.requests).toEqual({ traces: 5, metrics: 0, logs: 0 });
    expect(receiver.errors()).toEqual([]);
    await provider.shutdown();
  });

  it('receives one point per series for counters, up-down counters, histograms and gauges', async () => {
    const reader = new CollectOnDemand();
    const provider = new MeterProvider({
      resource: resourceFromAttributes(RESOURCE),
      readers: [reader],
      views: [
        {
          instrumentName: 'flowtrace.payload.size',
          aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM },
        },
      ],
    });
    const meter = provider.getMeter(SCOPE.name, SCOPE.version);
    const runs = meter.createCounter('flowtrace.runs', {
      description: 'Runs started',
      unit: '{run}',
      valueType: ValueType.INT,
    });
    runs.add(3, { queue: 'default' });
    runs.add(2, { queue: 'default' });
    runs.add(1, { queue: 'priority' });
    meter.createUpDownCounter('flowtrace.workers.active', { valueType: ValueType.INT }).add(-2);
    const duration = meter.createHistogram('flowtrace.node.duration', {
      unit: 's',
      advice: { explicitBucketBoundaries: [0.1, 1, 10] },
    });
    for (const seconds of [0.05, 0.5, 5, 50]) duration.record(seconds, { 'node.type': 'llm' });
    meter
      .createGauge('flowtrace.queue.depth', { unit: '{job}' })
      .record(7.5, { queue: 'default', paused: false });
    const size = meter.createHistogram('flowtrace.payload.size', { unit: 'By' });
    for (const bytes of [1, 2, 4]) size.record(bytes);

    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const exporter = new encoding.metrics(config('metrics'));
    expect((await exportWith(exporter, resourceMetrics)).code).toBe(ExportResultCode.SUCCESS);

    const points = receiver.metrics();
    expect(sortPoints(points)).toEqual(sortPoints(expectedPoints(resourceMetrics)));

    const runPoints = points.filter((p) => p.name === 'flowtrace.runs');
    expect(runPoints).toHaveLength(2);
    for (const point of runPoints) {
      expect(point).toMatchObject({
        description: 'Runs started',
        unit: '{run}',
        type: 'sum',
        isMonotonic: true,
        temporality: 'CUMULATIVE',
        resource: RESOURCE,
        scope: SCOPE,
      });
    }
    expect(points.find((p) => p.name === 'flowtrace.runs' && p.attributes.queue === 'default')?.value).toBe(
      5,
    );
    expect(points.find((p) => p.name === 'flowtrace.runs' && p.attributes.queue === 'priority')?.value).toBe(
      1,
    );
    expect(points.find((p) => p.name === 'flowtrace.workers.active')).toMatchObject({
      type: 'sum',
      isMonotonic: false,
      value: -2,
      attributes: {},
    });
    expect(points.find((p) => p.name === 'flowtrace.node.duration')).toMatchObject({
      type: 'histogram',
      temporality: 'CUMULATIVE',
      unit: 's',
      attributes: { 'node.type': 'llm' },
      count: 4,
      sum: 0.05 + 0.5 + 5 + 50,
      min: 0.05,
      max: 50,
      bucketCounts: [1, 1, 1, 1],
      explicitBounds: [0.1, 1, 10],
    });
    expect(points.find((p) => p.name === 'flowtrace.queue.depth')).toMatchObject({
      type: 'gauge',
      unit: '{job}',
      value: 7.5,
      attributes: { queue: 'default', paused: false },
    });
    expect(points.find((p) => p.name === 'flowtrace.payload.size')).toMatchObject({
      type: 'exponentialHistogram',
      count: 3,
      sum: 7,
      min: 1,
      max: 4,
      zeroCount: 0,
    });
    const point = points[0];
    expect(point?.startTimeUnixNano).toBeGreaterThan(0n);
    expect(point?.timeUnixNano).toBeGreaterThanOrEqual(point?.startTimeUnixNano ?? 0n);
    await exporter.shutdown();
    await provider.shutdown();
  });

  it('receives log records with their body, severity, attributes and span context', async () => {
    const memory = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      resource: resourceFromAttributes(RESOURCE),
      processors: [
        new SimpleLogRecordProcessor({ exporter: memory }),
        new SimpleLogRecordProcessor({ exporter: new encoding.logs(config('logs')) }),
      ],
    });
    const logger = provider.getLogger(SCOPE.name, SCOPE.version);
    const span = new TracerProvider().getTracer('t').startSpan('run');
    logger.emit({
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      body: 'node retried',
      attributes: { seq: 1, 'flowtrace.run.id': 'run_1', attempt: 2 },
      context: trace.setSpan(ROOT_CONTEXT, span),
    });
    logger.emit({
      severityNumber: SeverityNumber.INFO,
      eventName: 'flowtrace.run.completed',
      body: { msg: 'structured', items: [1, 'two', true, 2.5], nested: { ok: true } },
      attributes: { seq: 2 },
    });
    logger.emit({ body: new Uint8Array([0, 1, 254, 255]), attributes: { seq: 3 } });
    logger.emit({ severityNumber: SeverityNumber.DEBUG, attributes: { seq: 4 } });
    span.end();
    await provider.forceFlush();

    const logs = await receiver.waitFor(() => receiver.logs().length === 4 && receiver.logs(), {
      message: 'four logs',
    });
    expect(bySeq(logs)).toEqual(bySeq(memory.getFinishedLogRecords().map(expectedLog)));

    const [inSpan, event, bytes, bare] = bySeq(logs);
    expect(inSpan).toMatchObject({
      severityNumber: 13,
      severityText: 'WARN',
      body: 'node retried',
      attributes: { seq: 1, 'flowtrace.run.id': 'run_1', attempt: 2 },
      traceId: span.spanContext().traceId,
      spanId: span.spanContext().spanId,
      flags: 1,
      resource: RESOURCE,
      scope: SCOPE,
    });
    expect(event).toMatchObject({
      severityNumber: 9,
      severityText: '',
      eventName: 'flowtrace.run.completed',
      body: { msg: 'structured', items: [1, 'two', true, 2.5], nested: { ok: true } },
      traceId: undefined,
      spanId: undefined,
    });
    expect(bytes?.body).toEqual(new Uint8Array([0, 1, 254, 255]));
    expect(bare).toMatchObject({ severityNumber: 5, body: undefined });
    expect(bare?.timeUnixNano).toBeGreaterThan(0n);
    await provider.shutdown();
  });

  it('stores nothing and fails every export while setResponse(503) is in force', async () => {
    receiver.setResponse(503);
    // A short timeout makes the exporters give up instead of retrying with a 1 s backoff.
    const fast = { timeoutMillis: 300 };
    const spanExporter = new encoding.traces(config('traces', fast));
    const logExporter = new encoding.logs(config('logs', fast));
    const metricExporter = new encoding.metrics(config('metrics', fast));
    const spans = recordSpans(2);
    const logs = recordLogs();
    const metrics = await recordMetrics();

    expect((await exportWith(spanExporter, spans)).code).toBe(ExportResultCode.FAILED);
    expect((await exportWith(logExporter, logs)).code).toBe(ExportResultCode.FAILED);
    expect((await exportWith(metricExporter, metrics)).code).toBe(ExportResultCode.FAILED);
    expect(receiver.requests).toEqual({ traces: 1, metrics: 1, logs: 1 });
    expect([receiver.spans(), receiver.logs(), receiver.metrics()]).toEqual([[], [], []]);

    receiver.setResponse(null);
    expect((await exportWith(spanExporter, spans)).code).toBe(ExportResultCode.SUCCESS);
    expect((await exportWith(logExporter, logs)).code).toBe(ExportResultCode.SUCCESS);
    expect((await exportWith(metricExporter, metrics)).code).toBe(ExportResultCode.SUCCESS);
    expect(receiver.spans()).toHaveLength(2);
    expect(receiver.logs()).toHaveLength(1);
    expect(receiver.metrics()).toHaveLength(1);
    await Promise.all([spanExporter.shutdown(), logExporter.shutdown(), metricExporter.shutdown()]);
  });
});

describe('OtlpReceiver', () => {
  it('has an endpoint on 127.0.0.1 and answers 404, 405, 415 and 400 to what is not an OTLP export', async () => {
    expect(receiver.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const post = (path: string, body: RequestInit['body'], contentType: string) =>
      fetch(`${receiver.endpoint}${path}`, {
        method: 'POST',
        body,
        headers: { 'content-type': contentType },
      });

    expect((await post('/v1/profiles', '', 'application/json')).status).toBe(404);
    expect((await fetch(`${receiver.endpoint}/v1/traces`)).status).toBe(405);
    expect((await post('/v1/traces', 'hello', 'text/plain')).status).toBe(415);
    expect((await post('/v1/traces', 'not json', 'application/json')).status).toBe(400);
    expect(
      (await post('/v1/logs', new Uint8Array([0x0a, 0x05, 0x01]), 'application/x-protobuf')).status,
    ).toBe(400);
    const ok = await post('/v1/metrics', '{}', 'application/json; charset=utf-8');
    expect([ok.status, ok.headers.get('content-type'), await ok.text()]).toEqual([
      200,
      'application/json',
      '{}',
    ]);

    expect(receiver.errors()).toEqual([
      expect.stringContaining('unsupported content-type "text/plain"'),
      expect.stringContaining('traces (json): cannot decode'),
      expect.stringContaining('logs (protobuf): cannot decode the request: Error: truncated message'),
    ]);
    expect(receiver.requests).toEqual({ traces: 2, metrics: 1, logs: 1 });
    receiver.clear();
    expect([receiver.requests, receiver.errors()]).toEqual([{ traces: 0, metrics: 0, logs: 0 }, []]);
  });

  it('decodes hand-built protobuf: unknown fields of every wire type, negative int64s, kvlists, bytes', async () => {
    const anyString = (s: string) => str(1, s);
    const kv = (key: string, value: number[]) => len(9, [...str(1, key), ...len(2, value)]);
    const span = [
      ...len(1, hex('5b8efff798038103d269b633813fc60c')),
      ...len(2, hex('eee19b7ec3c1b174')),
      ...len(4, []), // an empty parent id means a root span
      ...str(5, 'raw'),
      ...varintField(6, 3),
      ...fixed64Field(7, 1_544_712_660_000_000_000n),
      ...fixed64Field(8, 1_544_712_661_000_000_001n),
      ...varintField(900, 5),
      ...fixed64Field(901, 7n),
      ...str(902, 'ignored'),
      ...tag(903, 5),
      ...[1, 2, 3, 4],
      ...kv('negative', [...tag(3, 0), ...varint(-1n)]),
      ...kv('list', len(6, len(1, [...str(1, 'inner'), ...len(2, [...tag(2, 0), 1])]))),
      ...kv('bytes', len(7, [0, 255])),
      ...kv('empty', []),
      ...len(15, [...str(2, 'bad'), ...varintField(3, 2)]),
      ...tag(16, 5),
      ...[0x01, 0x03, 0, 0],
    ];
    const scopeSpans = [...len(1, [...str(1, 'hand'), ...str(2, '0.1')]), ...len(2, span)];
    const resourceSpans = [
      ...len(1, len(1, [...str(1, 'service.name'), ...len(2, anyString('svc'))])),
      ...len(2, scopeSpans),
    ];
    const body = new Uint8Array([...varintField(77, 1), ...len(1, resourceSpans)]);
    const res = await fetch(`${receiver.endpoint}/v1/traces`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-protobuf' },
    });
    expect([res.status, res.headers.get('content-type'), (await res.arrayBuffer()).byteLength]).toEqual([
      200,
      'application/x-protobuf',
      0,
    ]);
    expect(receiver.spans()).toEqual([
      {
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId: 'eee19b7ec3c1b174',
        name: 'raw',
        kind: 'CLIENT',
        startTimeUnixNano: 1_544_712_660_000_000_000n,
        endTimeUnixNano: 1_544_712_661_000_000_001n,
        attributes: { negative: -1, list: { inner: true }, bytes: new Uint8Array([0, 255]), empty: null },
        status: { code: 'ERROR', message: 'bad' },
        events: [],
        links: [],
        resource: { 'service.name': 'svc' },
        scope: { name: 'hand', version: '0.1' },
        flags: 0x301,
      } satisfies ReceivedSpan,
    ]);
  });

  it('decodes hand-built protobuf summaries, unpacked repeated scalars and negative exponential offsets', async () => {
    const times = [...fixed64Field(2, 1n), ...fixed64Field(3, 2n)];
    const summaryPoint = [
      ...times,
      ...fixed64Field(4, 10n),
      ...doubleField(5, 12.5),
      ...len(6, [...doubleField(1, 0.5), ...doubleField(2, 1.25)]),
      ...len(6, [...doubleField(1, 0.99), ...doubleField(2, 4)]),
    ];
    const histogramPoint = [
      ...times,
      ...fixed64Field(4, 3n),
      ...fixed64Field(6, 1n), // bucket_counts and explicit_bounds unpacked, one element per field
      ...fixed64Field(6, 2n),
      ...doubleField(7, 2.5),
    ];
    const exponentialPoint = [
      ...times,
      ...fixed64Field(4, 3n),
      ...varintField(6, zigzag(-2)),
      ...len(8, [...varintField(1, zigzag(-3)), ...len(2, [...varint(1n), ...varint(300n)])]),
    ];
    const metrics = [
      ...len(2, [...str(1, 'latency'), ...str(3, 'ms'), ...len(11, len(1, summaryPoint))]),
      ...len(2, [...str(1, 'hist'), ...len(9, [...len(1, histogramPoint), ...varintField(2, 1)])]),
      ...len(2, [...str(1, 'exp'), ...len(10, len(1, exponentialPoint))]),
    ];
    const body = new Uint8Array(len(1, len(2, [...len(1, str(1, 'hand')), ...metrics])));
    const res = await fetch(`${receiver.endpoint}/v1/metrics`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-protobuf' },
    });
    expect(res.status).toBe(200);
    const base = { description: '', attributes: {}, startTimeUnixNano: 1n, timeUnixNano: 2n, resource: {} };
    expect(receiver.metrics()).toEqual([
      {
        ...base,
        name: 'latency',
        unit: 'ms',
        type: 'summary',
        count: 10,
        sum: 12.5,
        quantileValues: [
          { quantile: 0.5, value: 1.25 },
          { quantile: 0.99, value: 4 },
        ],
        scope: { name: 'hand' },
      },
      {
        ...base,
        name: 'hist',
        unit: '',
        type: 'histogram',
        temporality: 'DELTA',
        count: 3,
        bucketCounts: [1, 2],
        explicitBounds: [2.5],
        scope: { name: 'hand' },
      },
      {
        ...base,
        name: 'exp',
        unit: '',
        type: 'exponentialHistogram',
        temporality: 'UNSPECIFIED',
        count: 3,
        scale: -2,
        zeroCount: 0,
        positive: { offset: -3, bucketCounts: [1, 300] },
        negative: { offset: 0, bucketCounts: [] },
        scope: { name: 'hand' },
      },
    ] satisfies ReceivedMetric[]);
  });

  it('decodes OTLP/JSON as the spec writes it: int64 strings, enum names, base64 bytes, any-case hex ids', async () => {
    const request = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-svc' } }] },
          scopeSpans: [
            {
              scope: { name: 'json' },
              spans: [
                {
                  traceId: '5B8EFFF798038103D269B633813FC60C',
                  spanId: 'EEE19B7EC3C1B174',
                  parentSpanId: '',
                  name: 'from json',
                  kind: 'SPAN_KIND_PRODUCER',
                  startTimeUnixNano: '1544712660000000000',
                  endTimeUnixNano: 1544712661000000000,
                  attributes: [
                    { key: 'int', value: { intValue: '9007199254740993' } },
                    { key: 'inf', value: { doubleValue: 'Infinity' } },
                    { key: 'bytes', value: { bytesValue: 'AAH+/w==' } },
                  ],
                  status: { code: 'STATUS_CODE_ERROR' },
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await fetch(`${receiver.endpoint}/v1/traces`, {
      method: 'POST',
      body: JSON.stringify(request),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(receiver.spans()).toEqual([
      expect.objectContaining({
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId: 'eee19b7ec3c1b174',
        parentSpanId: undefined,
        kind: 'PRODUCER',
        startTimeUnixNano: 1544712660000000000n,
        endTimeUnixNano: 1544712661000000000n,
        attributes: {
          int: '9007199254740993',
          inf: Number.POSITIVE_INFINITY,
          bytes: new Uint8Array([0, 1, 254, 255]),
        },
        status: { code: 'ERROR' },
        resource: { 'service.name': 'json-svc' },
      }),
    ]);
  });

  it('waitFor resolves with the first truthy value and times out with what it was waiting for', async () => {
    let calls = 0;
    await expect(receiver.waitFor(() => ++calls >= 3 && 'ready', { intervalMs: 1 })).resolves.toBe('ready');
    const failing = receiver.waitFor(
      () => {
        throw new Error('expected a span named "run"');
      },
      { timeoutMs: 30, intervalMs: 5, message: 'the run span' },
    );
    await expect(failing).rejects.toThrow(
      /timed out after 30 ms waiting for the run span\. Received 0 spans \[\].*Last error: expected a span named "run"/,
    );
  });

  it('listens on the port it is given', async () => {
    const probe = await OtlpReceiver.start();
    const port = Number(new URL(probe.endpoint).port);
    await probe.close();
    const fixed = await OtlpReceiver.start({ port, host: '127.0.0.1' });
    expect(fixed.endpoint).toBe(`http://127.0.0.1:${port}`);
    await fixed.close();
  });
});

// ---- expected values, computed from the SDK's own records ------------------------------------------

const SPAN_KINDS = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
const STATUS_CODES = ['UNSET', 'OK', 'ERROR'] as const;

function expectedSpan(span: ReadableSpan): ReceivedSpan {
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

function expectedPoints(resourceMetrics: ResourceMetrics): ReceivedMetric[] {
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

function expectedLog(log: ReadableLogRecord): ReceivedLogRecord {
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

// ---- helpers ------------------------------------------------------------------------------------

/** A metric reader that only collects when asked, so a test controls exactly what is exported. */
class CollectOnDemand extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

function exportWith<T>(
  exporter: { export(items: T, done: (result: ExportResult) => void): void },
  items: T,
): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(items, resolve));
}

function recordSpans(count: number): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const tracer = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  }).getTracer('t');
  for (let i = 0; i < count; i++) tracer.startSpan(`span ${i}`).end();
  return memory.getFinishedSpans();
}

function recordLogs(): ReadableLogRecord[] {
  const memory = new InMemoryLogRecordExporter();
  new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: memory })] })
    .getLogger('t')
    .emit({ body: 'hello' });
  return memory.getFinishedLogRecords();
}

async function recordMetrics(): Promise<ResourceMetrics> {
  const reader = new CollectOnDemand();
  new MeterProvider({ readers: [reader] }).getMeter('t').createCounter('c').add(1);
  return (await reader.collect()).resourceMetrics;
}

function nanos([seconds, nanoseconds]: HrTime): bigint {
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanoseconds);
}

function find(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const span = spans.find((s) => s.name === name);
  if (span === undefined)
    throw new Error(`no span named ${name} in [${spans.map((s) => s.name).join(', ')}]`);
  return span;
}

function bySpanId(spans: ReceivedSpan[]): ReceivedSpan[] {
  return [...spans].sort((a, b) => a.spanId.localeCompare(b.spanId));
}

function bySeq(logs: ReceivedLogRecord[]): ReceivedLogRecord[] {
  return [...logs].sort((a, b) => Number(a.attributes.seq) - Number(b.attributes.seq));
}

function sortPoints(points: ReceivedMetric[]): ReceivedMetric[] {
  const key = (p: ReceivedMetric) => `${p.name} ${JSON.stringify(p.attributes)}`;
  return [...points].sort((a, b) => key(a).localeCompare(key(b)));
}

// ---- a minimal protobuf writer for hand-built requests ------------------------------------------

function varint(value: bigint): number[] {
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return out;
}

function tag(field: number, wire: number): number[] {
  return varint(BigInt((field << 3) | wire));
}

function varintField(field: number, value: number): number[] {
  return [...tag(field, 0), ...varint(BigInt(value))];
}

function fixed64Field(field: number, value: bigint): number[] {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value, true);
  return [...tag(field, 1), ...bytes];
}

function doubleField(field: number, value: number): number[] {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, value, true);
  return [...tag(field, 1), ...bytes];
}

function len(field: number, bytes: number[]): number[] {
  return [...tag(field, 2), ...varint(BigInt(bytes.length)), ...bytes];
}

function str(field: number, text: string): number[] {
  return len(field, [...Buffer.from(text, 'utf8')]);
}

function hex(id: string): number[] {
  return [...Buffer.from(id, 'hex')];
}

function zigzag(n: number): number {
  return n < 0 ? -2 * n - 1 : 2 * n;
}
