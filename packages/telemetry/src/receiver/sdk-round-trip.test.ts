import { ROOT_CONTEXT, SeverityNumber, SpanKind, SpanStatusCode, trace, ValueType } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { AggregationType, MeterProvider } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import {
  ALL_TYPES,
  ALL_TYPES_RECEIVED,
  bySeq,
  bySpanId,
  CollectOnDemand,
  ENCODINGS,
  expectedLog,
  expectedPoints,
  expectedSpan,
  exporterConfig,
  exportWith,
  find,
  RESOURCE,
  receiverPerTest,
  SCOPE,
  sortPoints,
} from './receiver-test-support.ts';

// What the SDK records, exported by its own OTLP exporters in every encoding, arrives unchanged: this
// holds the protobuf definitions in otlp.proto and the JSON flattening to what the SDK sends.

const receiver = receiverPerTest();

describe.each(ENCODINGS)('SDK exports with $protocol, compression $compression', (encoding) => {
  const config = (signal: 'traces' | 'metrics' | 'logs') => exporterConfig(receiver(), encoding, signal);

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

    const spans = await receiver().waitFor(() => receiver().spans().length === 5 && receiver().spans(), {
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
    expect(receiver().requests).toEqual({ traces: 5, metrics: 0, logs: 0 });
    expect(receiver().errors()).toEqual([]);
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

    const points = receiver().metrics();
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

    const logs = await receiver().waitFor(() => receiver().logs().length === 4 && receiver().logs(), {
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
});
