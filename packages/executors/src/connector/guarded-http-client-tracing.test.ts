import { SpanKind } from '@opentelemetry/api';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { describe, expect, it } from 'vitest';
import {
  client,
  exporter,
  inSpan,
  provider,
  target,
  useGuardedHttpHarness,
} from './guarded-http-test-harness.ts';

useGuardedHttpHarness();

describe('GuardedHttpClient: trace propagation', () => {
  it("sends a traceparent whose parent is undici's CLIENT span, inside the active trace", async () => {
    // Enabled on construction: it subscribes to undici's diagnostics channels, as the SDK would at startup.
    const undiciInstrumentation = new UndiciInstrumentation();
    undiciInstrumentation.setTracerProvider(provider);
    try {
      target.on('GET', '/traced', { body: 'ok' });
      const http = client({ allowedHosts: ['127.0.0.1'] });
      const { span: nodeSpan } = await inSpan(() =>
        http.request({ method: 'GET', url: `${target.url}/traced` }),
      );
      await provider.forceFlush();
      const header = target.requests[0]?.headers.traceparent;
      expect(typeof header).toBe('string');
      const [, traceId, parentSpanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(String(header)) ?? [];
      expect(traceId).toBe(nodeSpan.spanContext().traceId);
      const clientSpan = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT);
      expect(clientSpan?.name).toBe('GET');
      expect(clientSpan?.spanContext().spanId).toBe(parentSpanId);
      expect(clientSpan?.parentSpanContext?.spanId).toBe(nodeSpan.spanContext().spanId);
    } finally {
      undiciInstrumentation.disable();
    }
  });

  it('injects traceparent itself when asked to (no instrumentation running)', async () => {
    target.on('GET', '/manual', { body: 'ok' });
    const http = client({ allowedHosts: ['127.0.0.1'], propagateTraceContext: true });
    const { span } = await inSpan(() => http.request({ method: 'GET', url: `${target.url}/manual` }));
    const header = String(target.requests[0]?.headers.traceparent);
    expect(header).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
  });

  it('sends no traceparent by default without the instrumentation', async () => {
    target.on('GET', '/plain', { body: 'ok' });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    await inSpan(() => http.request({ method: 'GET', url: `${target.url}/plain` }));
    expect(target.requests[0]?.headers.traceparent).toBeUndefined();
  });
});
