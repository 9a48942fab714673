import { context, type Meter, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

/** A reader that only collects on demand. */
class ManualMetricReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

export interface InMemoryTelemetry {
  tracerProvider: TracerProvider;
  tracer: Tracer;
  meter: Meter;
  exporter: InMemorySpanExporter;
  /** Finished spans, in end order. */
  spans(): ReadableSpan[];
  /** The one finished span with this name (throws when there are none or several). */
  span(name: string): ReadableSpan;
  /** Every metric collected so far, by name. */
  metrics(): Promise<Map<string, MetricData>>;
  /** Histogram data points of one metric (empty when it was never recorded). */
  histogramPoints(name: string): Promise<DataPoint<Histogram>[]>;
  shutdown(): Promise<void>;
}

/**
 * Tracing and metrics SDKs for in-process assertions: a tracer provider exporting to memory through a
 * SimpleSpanProcessor, a meter provider with a manual reader, and an AsyncLocalStorage context manager
 * installed globally (so `trace.getActiveSpan()` works across awaits). Nothing is registered as the
 * global tracer or meter provider; use the returned `tracer` and `meter`.
 */
export function createInMemoryTelemetry(): InMemoryTelemetry {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const reader = new ManualMetricReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  context.disable();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

  const metrics = async (): Promise<Map<string, MetricData>> => {
    const { resourceMetrics } = await reader.collect();
    const byName = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics)
      for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
    return byName;
  };

  return {
    tracerProvider,
    tracer: tracerProvider.getTracer('flowtrace-test'),
    meter: meterProvider.getMeter('flowtrace-test'),
    exporter,
    spans: () => exporter.getFinishedSpans(),
    span(name) {
      const found = exporter.getFinishedSpans().filter((s) => s.name === name);
      if (found.length !== 1) throw new Error(`expected one span named "${name}", found ${found.length}`);
      return found[0] as ReadableSpan;
    },
    metrics,
    async histogramPoints(name) {
      const metric = (await metrics()).get(name);
      return metric === undefined ? [] : (metric.dataPoints as DataPoint<Histogram>[]);
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      context.disable();
    },
  };
}
