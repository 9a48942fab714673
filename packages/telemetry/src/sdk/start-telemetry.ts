import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { createW3cPropagator } from '../propagation/w3c-trace-context.ts';
import { ATTR_DEPLOYMENT_ENVIRONMENT_NAME, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '../semconv.ts';
import { type DeferredSpanEmitter, noopDeferredSpanEmitter } from '../tracing/deferred-span.ts';
import { DeferredMeterProvider } from './deferred-meter-provider.ts';
import { createInstrumentations, type FastifyOtelPlugin } from './instrumentations.ts';
import { PresetIdGenerator } from './preset-id-generator.ts';
import { SdkDeferredSpanEmitter } from './sdk-deferred-span-emitter.ts';
import { createTraceProcessors } from './trace-pipeline.ts';

export interface TelemetryOptions {
  /** Used when `OTEL_SERVICE_NAME` is not set (e.g. `flowtrace-api`, `flowtrace-worker-llm`). */
  defaultServiceName: string;
  serviceVersion: string;
  /** Used when `OTEL_RESOURCE_ATTRIBUTES` does not set `deployment.environment.name`. */
  defaultEnvironment?: string;
  /** Incoming HTTP paths left out of tracing (health checks). */
  ignoredPaths?: readonly string[];
  /** The environment the SDK reads its `OTEL_*` settings from (the SDK reads `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** A started (or disabled) telemetry pipeline, owned by an app's `main`. */
export interface Telemetry {
  /**
   * False when `OTEL_SDK_DISABLED=true`: spans are then no-ops and nothing is exported, but the context
   * manager and the W3C propagator are registered, so trace context still propagates and rows keep ids.
   */
  readonly enabled: boolean;
  readonly serviceName: string;
  readonly deferredSpans: DeferredSpanEmitter;
  /** The `@fastify/otel` plugin to register on the API's Fastify instance (undefined when disabled). */
  readonly fastifyPlugin: FastifyOtelPlugin | undefined;
  forceFlush(): Promise<void>;
  /** Flushes and stops every exporter; safe to call more than once. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry Node SDK from the standard `OTEL_*` environment: OTLP export of traces,
 * metrics and logs (http/protobuf by default) through batch processors, a parent-based sampler from
 * `OTEL_TRACES_SAMPLER`/`_ARG`, resource detection (`service.instance.id` included) and our
 * instrumentations. Call it in `main` before importing any instrumented module (ioredis, pino, fastify):
 * ESM imports are hooked from this point on.
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const env = options.env ?? process.env;
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || options.defaultServiceName;
  if (isTrue(env.OTEL_SDK_DISABLED)) {
    // Nothing is recorded or exported, but the trace context still flows: the active context follows async
    // work (so an outgoing request knows its run's trace) and the W3C propagator is registered.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(createW3cPropagator());
    return {
      enabled: false,
      serviceName,
      deferredSpans: noopDeferredSpanEmitter,
      fastifyPlugin: undefined,
      forceFlush: async () => {},
      shutdown: async () => {},
    };
  }

  await registerEsmHooks();
  // The span processor reports spans processed and dropped through the SDK's MeterProvider, bound below.
  const selfObs = new DeferredMeterProvider();
  const spanProcessors = createTraceProcessors(env, selfObs);
  const ids = new PresetIdGenerator();
  const { instrumentations, fastifyPlugin } = createInstrumentations({
    ignoredPaths: options.ignoredPaths ?? [],
  });
  const sdk = new NodeSDK({
    // Detectors (service.instance.id, host, process, OTEL_RESOURCE_ATTRIBUTES) are merged over this base.
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion,
      [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: options.defaultEnvironment ?? 'development',
    }),
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName }),
    idGenerator: ids,
    // W3C trace context and baggage, with our conformant `tracestate` and `random` flag handling; the
    // carrier helpers use the same propagator directly, so jobs propagate even with the SDK off.
    textMapPropagator: createW3cPropagator(),
    instrumentations,
    ...(spanProcessors ? { spanProcessors } : {}),
  });
  sdk.start();
  selfObs.bind(metrics.getMeterProvider());

  let stopped: Promise<void> | undefined;
  const providers = () => ({
    tracer: trace.getTracerProvider() as { forceFlush?: () => Promise<void> },
    meter: metrics.getMeterProvider() as { forceFlush?: () => Promise<void> },
  });
  return {
    enabled: true,
    serviceName,
    deferredSpans: new SdkDeferredSpanEmitter({
      tracer: trace.getTracer('flowtrace', options.serviceVersion),
      ids,
    }),
    fastifyPlugin,
    forceFlush: async () => {
      const { tracer, meter } = providers();
      await Promise.allSettled([tracer.forceFlush?.(), meter.forceFlush?.()]);
    },
    shutdown: () => {
      stopped ??= sdk.shutdown().catch(() => {
        // Telemetry never breaks execution: an exporter that cannot flush must not fail shutdown.
      });
      return stopped;
    },
  };
}

function isTrue(value: string | undefined): boolean {
  return value?.trim().toLowerCase() === 'true';
}

let hooksRegistered = false;

/**
 * Hooks ESM imports of the modules we instrument through package patching (ioredis, pino). http and
 * Fastify's own `require('http')` go through require-in-the-middle; undici uses diagnostics channels.
 */
async function registerEsmHooks(): Promise<void> {
  if (hooksRegistered) return;
  hooksRegistered = true;
  const { register } = await import('import-in-the-middle/register-hooks.mjs');
  register({ include: ['ioredis', 'pino'] });
}
