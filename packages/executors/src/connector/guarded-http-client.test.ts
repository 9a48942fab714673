import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { FlowtraceAttributes, FlowtraceEvents } from '@flowtrace/telemetry';
import { PermanentNodeError, TransientNodeError } from '@flowtrace/workflow';
import { context, propagation, type Span, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTargetServer, type TargetServer } from '../testing/target-server.ts';
import { GuardedHttpClient, type GuardedHttpClientOptions } from './guarded-http-client.ts';
import type { HostResolver } from './guarded-lookup.ts';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('guarded-http-client.test');

let target: TargetServer;
const clients: GuardedHttpClient[] = [];

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

function client(options: GuardedHttpClientOptions = {}): GuardedHttpClient {
  const c = new GuardedHttpClient({ resolve: testResolver, ...options });
  clients.push(c);
  return c;
}

/** Runs `fn` inside an active span standing in for the node's span, and returns that span once ended. */
async function inSpan<T>(
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

describe('GuardedHttpClient: SSRF guard', () => {
  const refused: [string, (t: TargetServer) => string, RegExp][] = [
    ['loopback IPv4', (t) => `${t.url}/x`, /127\.0\.0\.1.*loopback range 127\.0\.0\.0\/8/],
    ['loopback IPv6', (t) => `http://[::1]:${t.port}/x`, /::1.*loopback address/],
    ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254.*link-local/],
    ['RFC 1918', () => 'http://10.0.0.1/', /10\.0\.0\.1.*private range \(RFC 1918\) 10\.0\.0\.0\/8/],
    ['RFC 1918 172.16/12', () => 'http://172.20.1.1/', /private range.*172\.16\.0\.0\/12/],
    ['decimal integer host', (t) => `http://2130706433:${t.port}/`, /127\.0\.0\.1.*loopback/],
    ['hex octet host', (t) => `http://0x7f.0.0.1:${t.port}/`, /127\.0\.0\.1.*loopback/],
    [
      'IPv4-mapped IPv6',
      (t) => `http://[::ffff:127.0.0.1]:${t.port}/`,
      /IPv4-mapped IPv6 address of 127\.0\.0\.1/,
    ],
    ['unspecified', (t) => `http://0.0.0.0:${t.port}/`, /unspecified/],
    ['CGNAT', () => 'http://100.64.0.1/', /carrier-grade NAT/],
    ['unique-local IPv6', () => 'http://[fd00::1]/', /unique-local/],
    ['link-local IPv6', () => 'http://[fe80::1]/', /link-local/],
    ['broadcast', () => 'http://255.255.255.255/', /reserved range/],
    ['localhost by name', (t) => `http://localhost:${t.port}/`, /localhost.*loopback host name/],
    [
      'metadata host name',
      () => 'http://metadata.google.internal/computeMetadata/v1/',
      /metadata\.google\.internal.*cloud metadata host name/,
    ],
    [
      'name resolving to loopback',
      (t) => `http://evil.test:${t.port}/`,
      /"evil\.test" \(127\.0\.0\.1\).*loopback range/,
    ],
    [
      'name with one private address among public ones',
      (t) => `http://rebind.test:${t.port}/`,
      /rebind\.test.*127\.0\.0\.1/,
    ],
    [
      'name resolving to an IPv4-mapped address',
      (t) => `http://mapped.test:${t.port}/`,
      /mapped\.test.*IPv4-mapped/,
    ],
    ['file scheme', () => 'file:///etc/passwd', /scheme "file"/],
  ];

  for (const [label, url, reason] of refused) {
    it(`refuses ${label} with the reason on the span`, async () => {
      const http = client();
      const { error, span } = await inSpan(() => http.request({ method: 'GET', url: url(target) }));
      expect(error).toBeInstanceOf(PermanentNodeError);
      expect((error as PermanentNodeError).code).toBe('connector_blocked');
      expect((error as Error).message).toMatch(reason);
      const event = span.events.find((e) => e.name === FlowtraceEvents.CONNECTOR_BLOCKED);
      expect(event?.attributes?.[FlowtraceAttributes.CONNECTOR_BLOCKED_REASON]).toMatch(reason);
      expect(span.attributes[FlowtraceAttributes.CONNECTOR_BLOCKED_REASON]).toMatch(reason);
      expect(target.requests).toHaveLength(0);
    });
  }

  it('refuses localhost with the default (system) resolver too', async () => {
    const http = new GuardedHttpClient();
    clients.push(http);
    for (const host of ['localhost', 'LOCALHOST.', 'api.localhost']) {
      const { error } = await inSpan(() =>
        http.request({ method: 'GET', url: `http://${host}:${target.port}/` }),
      );
      expect((error as PermanentNodeError).code).toBe('connector_blocked');
    }
    expect(target.requests).toHaveLength(0);
  });

  it('reaches an allow-listed loopback host', async () => {
    target.on('GET', '/hello', { body: { hello: 'world' } });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const response = await http.request({ method: 'GET', url: `${target.url}/hello?a=1` });
    expect(response.status).toBe(200);
    expect(JSON.parse(String(response.body))).toEqual({ hello: 'world' });
    expect(target.requests[0]?.url).toBe('/hello?a=1');
  });

  it('connects to the checked address of an allow-listed name', async () => {
    target.on('GET', '/', { body: 'ok' });
    const http = client({ allowedHosts: ['*.good.test'] });
    const response = await http.request({ method: 'GET', url: `http://other.good.test:${target.port}/` });
    expect(response.status).toBe(200);
    expect(target.requests[0]?.headers.host).toBe(`other.good.test:${target.port}`);
  });

  it('allows an address inside an allow-listed CIDR, for literals and resolved names alike', async () => {
    target.on('GET', '/', { body: 'ok' });
    const http = client({ allowedCidrs: ['127.0.0.0/8'] });
    expect((await http.request({ method: 'GET', url: `${target.url}/` })).status).toBe(200);
    expect((await http.request({ method: 'GET', url: `http://evil.test:${target.port}/` })).status).toBe(200);
    const refused = await http.request({ method: 'GET', url: 'http://10.0.0.1/' }).catch((e: unknown) => e);
    expect((refused as PermanentNodeError).code).toBe('connector_blocked');
  });

  for (const [label, location] of [
    ['a loopback name', (t: TargetServer) => `http://localhost:${t.port}/secret`],
    ['a name resolving to loopback', (t: TargetServer) => `http://evil.test:${t.port}/secret`],
    ['the metadata address', () => 'http://169.254.169.254/latest/meta-data/'],
    ['a private address', () => 'http://10.0.0.1/admin'],
  ] as const) {
    it(`refuses a redirect from an allow-listed server to ${label}`, async () => {
      target.redirect('/start', location(target));
      target.on('GET', '/secret', { body: 'secret' });
      const http = client({ allowedHosts: ['127.0.0.1'] });
      const { error, span } = await inSpan(() => http.request({ method: 'GET', url: `${target.url}/start` }));
      expect((error as PermanentNodeError).code).toBe('connector_blocked');
      expect(span.attributes[FlowtraceAttributes.CONNECTOR_BLOCKED_REASON]).toMatch(/refused/);
      expect(target.requests.map((r) => r.path)).toEqual(['/start']);
    });
  }
});

describe('GuardedHttpClient: redirects', () => {
  it('follows up to 5 redirects and fails on the 6th', async () => {
    for (let i = 0; i < 6; i++) target.redirect(`/r${i}`, `/r${i + 1}`);
    target.on('GET', '/r6', { body: 'done' });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const ok = await http.request({ method: 'GET', url: `${target.url}/r1` });
    expect(ok.redirects).toBe(5);
    expect(ok.url).toBe(`${target.url}/r6`);
    const error = await http.request({ method: 'GET', url: `${target.url}/r0` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect((error as Error).message).toMatch(/more than 5 redirects/);
  });

  it('turns a POST into a GET on 303 and keeps it on 307', async () => {
    target.redirect('/see-other', '/landing', 303);
    target.redirect('/temporary', '/landing', 307);
    target.on('*', '/landing', (req) => ({ body: { method: req.method, body: req.text } }));
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' };
    const r303 = await http.request({ ...post, url: `${target.url}/see-other` });
    expect(JSON.parse(String(r303.body))).toEqual({ method: 'GET', body: '' });
    const r307 = await http.request({ ...post, url: `${target.url}/temporary` });
    expect(JSON.parse(String(r307.body))).toEqual({ method: 'POST', body: '{"a":1}' });
  });

  it('drops credential headers when a redirect leaves the origin', async () => {
    const other = await startTargetServer();
    try {
      target.redirect('/go', `http://good.test:${other.port}/landed`);
      other.on('GET', '/landed', { body: 'ok' });
      const http = client({ allowedHosts: ['127.0.0.1', 'good.test'] });
      await http.request({
        method: 'GET',
        url: `${target.url}/go`,
        headers: { authorization: 'Bearer s3cret', 'x-api-key': 'k3y-value', accept: 'text/plain' },
        sensitiveHeaders: ['x-api-key'],
      });
      expect(target.requests[0]?.headers.authorization).toBe('Bearer s3cret');
      const landed = other.requests[0];
      expect(landed?.headers.authorization).toBeUndefined();
      expect(landed?.headers['x-api-key']).toBeUndefined();
      expect(landed?.headers.accept).toBe('text/plain');
    } finally {
      await other.close();
    }
  });
});

describe('GuardedHttpClient: limits and failures', () => {
  it('aborts a streamed body past the size limit with a permanent error', async () => {
    target.on('GET', '/big', { streamBytes: 3 * 1024 * 1024 });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const error = await http
      .request({ method: 'GET', url: `${target.url}/big`, maxResponseBytes: 1024 * 1024 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect((error as PermanentNodeError).code).toBe('connector_error');
    expect((error as Error).message).toMatch(/exceeds the 1048576-byte limit/);
  });

  it('refuses a declared content-length past the limit before reading', async () => {
    target.on('GET', '/declared', { body: 'x'.repeat(5000) });
    const http = client({ allowedHosts: ['127.0.0.1'], maxResponseBytes: 1000 });
    const error = await http
      .request({ method: 'GET', url: `${target.url}/declared` })
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/exceeds the 1000-byte limit/);
  });

  it('counts decompressed bytes and decodes gzip', async () => {
    target.on('GET', '/gz', {
      headers: { 'content-encoding': 'gzip', 'content-type': 'text/plain' },
      body: gzipSync(Buffer.from('hello '.repeat(10))),
    });
    target.on('GET', '/bomb', {
      headers: { 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.alloc(2 * 1024 * 1024, 'a')),
    });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const ok = await http.request({ method: 'GET', url: `${target.url}/gz` });
    expect(String(ok.body)).toBe('hello '.repeat(10));
    const error = await http
      .request({ method: 'GET', url: `${target.url}/bomb`, maxResponseBytes: 100_000 })
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/exceeds the 100000-byte limit/);
  });

  it('decodes deflate, br and chained encodings, error responses too, and says the body is decoded', async () => {
    const text = Buffer.from('{"ok":true}');
    target.on('GET', '/deflate', { headers: { 'content-encoding': 'deflate' }, body: deflateSync(text) });
    target.on('GET', '/br', { headers: { 'content-encoding': 'br' }, body: brotliCompressSync(text) });
    // Applied in order: gzip first, then br; the client undoes br, then gzip.
    target.on('GET', '/chain', {
      headers: { 'content-encoding': 'gzip, br' },
      body: brotliCompressSync(gzipSync(text)),
    });
    target.on('GET', '/fail', {
      status: 500,
      headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
      body: gzipSync(Buffer.from('{"error":"backend down"}')),
    });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    for (const path of ['/deflate', '/br', '/chain']) {
      const response = await http.request({ method: 'GET', url: `${target.url}${path}` });
      expect(String(response.body), path).toBe('{"ok":true}');
      expect(response.headers['content-encoding'], path).toBeUndefined();
      expect(response.headers['content-length'], path).toBeUndefined();
    }
    const failed = await http.request({ method: 'GET', url: `${target.url}/fail` });
    expect(failed.status).toBe(500);
    expect(String(failed.body)).toBe('{"error":"backend down"}');
  });

  it('stops a chained decompression bomb at the limit', async () => {
    // 8 MiB of zeros, gzipped twice: a few hundred bytes on the wire.
    target.on('GET', '/double-bomb', {
      headers: { 'content-encoding': 'gzip, gzip' },
      body: gzipSync(gzipSync(Buffer.alloc(8 * 1024 * 1024))),
    });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const error = await http
      .request({ method: 'GET', url: `${target.url}/double-bomb`, maxResponseBytes: 64 * 1024 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect((error as Error).message).toMatch(/exceeds the 65536-byte limit/);
  });

  it('times out a slow response with a transient error', async () => {
    // The target never answers: only the client's own timeout can end the request.
    target.on('GET', '/silent', () => new Promise<never>(() => {}));
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const error = await http
      .request({ method: 'GET', url: `${target.url}/silent`, timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientNodeError);
    expect((error as Error).message).toMatch(/no complete response within 200 ms/);
  });

  it('times out a body that trickles in', async () => {
    target.on('GET', '/trickle', { streamBytes: 10 * 64 * 1024, chunkDelayMs: 100 });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const error = await http
      .request({ method: 'GET', url: `${target.url}/trickle`, timeoutMs: 250 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientNodeError);
  });

  it("rethrows the caller's abort reason", async () => {
    const controller = new AbortController();
    const reason = new Error('run cancelled');
    // Aborted once the request has arrived; the target never answers, so only the abort can end it.
    target.on('GET', '/silent', () => {
      controller.abort(reason);
      return new Promise<never>(() => {});
    });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const error = await http
      .request({ method: 'GET', url: `${target.url}/silent`, signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBe(reason);
  });

  it('reports a dropped connection as transient', async () => {
    target.on('GET', '/drop', { destroySocket: true });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const error = await http.request({ method: 'GET', url: `${target.url}/drop` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientNodeError);
    expect((error as TransientNodeError).code).toBe('connector_error');
  });

  it('refuses headers the transport owns and header injection', async () => {
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const cases: Record<string, string>[] = [
      { Host: 'internal' },
      { traceparent: 'x' },
      { 'x-a': 'b\r\nx-injected: 1' },
    ];
    for (const headers of cases) {
      const error = await http
        .request({ method: 'GET', url: `${target.url}/`, headers })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentNodeError);
    }
    expect(target.requests).toHaveLength(0);
  });
});

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
