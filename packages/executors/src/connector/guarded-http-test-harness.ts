import { context, propagation, type Span, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startTargetServer, type TargetServer } from '../testing/target-server.ts';
import { GuardedHttpClient, type GuardedHttpClientOptions } from './guarded-http-client.ts';
import type { HostResolver } from './guarded-lookup.ts';

/**
 * TEST HARNESS for the GuardedHttpClient tests: a loopback target server, an in-memory span exporter
 * behind the global tracer provider (with the W3C propagator and an async-hooks context manager), a
 * resolver that maps test names to addresses without DNS, `client()` (closed after the file) and
 * `inSpan()`. Call `useGuardedHttpHarness()` at the top of a test file; `target` is a live binding,
 * valid inside tests.
 */

export const exporter = new InMemorySpanExporter();
export const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('guarded-http-client.test');

export let target: TargetServer;
/** Every client a test made, closed after the file. */
export const clients: GuardedHttpClient[] = [];

/** Names the tests resolve without DNS: `evil.test` is a public-looking name that points at loopback. */
const testResolver: HostResolver = async (hostname) => {
  switch (hostname) {
    case 'evil.test':
    case 'good.test':
    case 'other.good.test':
      return [{ address: '127.0.0.1', family: 4 }];
    case 'rebind.test':
      return [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ];
    case 'mapped.test':
      return [{ address: '::ffff:127.0.0.1', family: 6 }];
    default: {
      const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      error.code = 'ENOTFOUND';
      throw error;
    }
  }
};

export function client(options: GuardedHttpClientOptions = {}): GuardedHttpClient {
  const c = new GuardedHttpClient({ resolve: testResolver, ...options });
  clients.push(c);
  return c;
}

/** Runs `fn` inside an active span standing in for the node's span, and returns that span once ended. */
export async function inSpan<T>(
  fn: (span: Span) => Promise<T>,
): Promise<{ result: T | undefined; error: unknown; span: ReadableSpan }> {
  let result: T | undefined;
  let error: unknown;
  const spanId = await tracer.startActiveSpan(
    'process nodes.connector',
    { kind: SpanKind.CONSUMER },
    async (span) => {
      try {
        result = await fn(span);
      } catch (e) {
        error = e;
      } finally {
        span.end();
      }
      return span.spanContext().spanId;
    },
  );
  await provider.forceFlush();
  const span = exporter.getFinishedSpans().find((s) => s.spanContext().spanId === spanId);
  if (span === undefined) throw new Error('span not exported');
  return { result, error, span };
}

/** Registers the target server's and the global telemetry's set-up and clean-up hooks. */
export function useGuardedHttpHarness(): void {
  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    target = await startTargetServer();
  });

  afterEach(() => {
    target.reset();
    exporter.reset();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await target.close();
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });
}
