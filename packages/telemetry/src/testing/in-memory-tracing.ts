import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  InMemorySpanExporter,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { createW3cPropagator } from '../propagation/w3c-trace-context.ts';
import { PresetIdGenerator } from '../sdk/preset-id-generator.ts';
import { SdkDeferredSpanEmitter } from '../sdk/sdk-deferred-span-emitter.ts';
import type { DeferredSpanEmitter } from '../tracing/deferred-span.ts';

export interface InMemoryTracing {
  readonly exporter: InMemorySpanExporter;
  readonly deferredSpans: DeferredSpanEmitter;
  spans(): ReadableSpan[];
  reset(): void;
  shutdown(): Promise<void>;
}

/**
 * Registers a global tracer provider that records spans in memory, with the same context manager,
 * propagators and id generator as production, for in-process span assertions.
 */
export function startInMemoryTracing(options: { sampler?: Sampler } = {}): InMemoryTracing {
  const exporter = new InMemorySpanExporter();
  const ids = new PresetIdGenerator();
  const provider = new TracerProvider({
    idGenerator: ids,
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
    ...(options.sampler ? { sampler: new ParentBasedSampler({ root: options.sampler }) } : {}),
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(createW3cPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    exporter,
    deferredSpans: new SdkDeferredSpanEmitter({ tracer: provider.getTracer('flowtrace-test'), ids }),
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
