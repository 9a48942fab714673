import FastifyOtel from '@fastify/otel';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';

export type FastifyOtelPlugin = ReturnType<
  InstanceType<typeof FastifyOtel.FastifyOtelInstrumentation>['plugin']
>;

export function createInstrumentations(options: { ignoredPaths: readonly string[] }): {
  instrumentations: Instrumentation[];
  fastifyPlugin: FastifyOtelPlugin;
} {
  const ignored = new Set(options.ignoredPaths);
  const pathOf = (url: string | undefined): string => (url ?? '').split('?')[0] ?? '';
  const fastify = new FastifyOtel.FastifyOtelInstrumentation({
    ignorePaths: (route) => ignored.has(route.url),
    // The HTTP server span and @fastify/otel's request span (with the route) are enough: spans per
    // lifecycle hook and per handler add cost and depth, not insight.
    instrumentHooks: false,
    instrumentHandler: false,
  });
  const instrumentations: Instrumentation[] = [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (request) => ignored.has(pathOf(request.url)),
    }),
    new UndiciInstrumentation(),
    new IORedisInstrumentation({
      // BullMQ runs several Redis commands per job outside any span (lock renewal, fetching, moving to
      // completed). Keep only commands issued inside one of our spans, such as the enqueue.
      requireParentSpan: true,
      // Job data holds run input: record the command name only, never its arguments.
      dbStatementSerializer: (command) => command,
    }),
    new PinoInstrumentation(),
    // Event loop delay and utilization, GC, V8 heap: the `nodejs.*` and `v8js.*` runtime metrics.
    new RuntimeNodeInstrumentation(),
    fastify,
  ];
  return { instrumentations, fastifyPlugin: fastify.plugin() };
}
