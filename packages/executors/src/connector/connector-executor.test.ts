import { FlowtraceAttributes } from '@flowtrace/telemetry';
import {
  type ConnectorNodeConfig,
  type JsonValue,
  type Logger,
  NODE_CONFIG_SCHEMAS,
  type NodeExecutionContext,
  PermanentNodeError,
  TransientNodeError,
} from '@flowtrace/workflow';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTargetServer, type TargetServer } from '../testing/target-server.ts';
import { createConnectorExecutor } from './connector-executor.ts';
import { CredentialStore } from './credentials.ts';
import { GuardedHttpClient } from './guarded-http-client.ts';

const SECRET = 'Bearer sk-live-0123456789abcdef';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('connector-executor.test');
let instrumentation: UndiciInstrumentation;
let target: TargetServer;
let http: GuardedHttpClient;
const logLines: unknown[] = [];

const credentials = new CredentialStore({
  crm: { headers: { Authorization: SECRET, 'X-Tenant': 'acme' }, hosts: ['127.0.0.1'] },
  billing: { headers: { 'x-api-key': 'billing-key-123' }, hosts: ['billing.example'] },
});

function recordingLogger(): Logger {
  const log = (obj: object, msg?: string): void => {
    logLines.push({ obj, msg });
  };
  return { debug: log, info: log, warn: log, error: log, child: () => recordingLogger() };
}

function ctxFor(
  config: Partial<ConnectorNodeConfig> & { url: string },
  extra: { signal?: AbortSignal } = {},
): NodeExecutionContext<'connector'> {
  return {
    runId: 'run-1',
    tenantId: 'tenant-1',
    workflowId: 'wf-1',
    workflowName: 'wf',
    nodeId: 'call',
    nodeType: 'connector',
    attempt: 1,
    // The schema fills defaults (method GET, responseType auto) as the engine's parsed definition would.
    config: NODE_CONFIG_SCHEMAS.connector.parse(config),
    input: { customer: { id: 'c/42', name: 'Ada' }, items: [1, 2, 3], flag: true },
    upstream: { classify: { label: 'vip', score: 0.9 } },
    signal: extra.signal ?? new AbortController().signal,
    logger: recordingLogger(),
    ledger: { recordModelCall: () => undefined, recordAgentStep: () => undefined },
  };
}

const executor = () => createConnectorExecutor({ http, credentials });

/** Executes inside a CONSUMER span like the engine's, returning the output or error and every span. */
async function run(ctx: NodeExecutionContext<'connector'>) {
  let output: JsonValue | undefined;
  let error: unknown;
  await tracer.startActiveSpan('process nodes.connector', { kind: SpanKind.CONSUMER }, async (span) => {
    try {
      output = await executor().execute(ctx);
    } catch (e) {
      error = e;
    } finally {
      span.end();
    }
  });
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  const nodeSpan = spans.find((s) => s.name === 'process nodes.connector');
  return { output, error, spans, nodeSpan };
}

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  instrumentation = new UndiciInstrumentation();
  instrumentation.setTracerProvider(provider);
  target = await startTargetServer();
  http = new GuardedHttpClient({ allowedHosts: ['127.0.0.1'] });
});

afterEach(() => {
  target.reset();
  exporter.reset();
  logLines.length = 0;
});

afterAll(async () => {
  instrumentation.disable();
  await http.close();
  await target.close();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

describe('connector executor: requests', () => {
  it('renders URL, query, headers and a JSON body from the run input and upstream outputs', async () => {
    // URL template values are percent-encoded: "c/42" stays one path segment.
    target.on('POST', '/customers/c%2F42', { body: { ok: true } });
    const { output, error } = await run(
      ctxFor({
        method: 'POST',
        url: `${target.url}/customers/{{ input.customer.id }}`,
        query: { label: '{{ nodes.classify.output.label }}', q: 'a b&c', run: '{{ run.id }}' },
        headers: { 'X-Label': '{{ nodes.classify.output.label }}' },
        body: {
          name: '{{ input.customer.name }}',
          items: '{{ input.items }}',
          score: '{{ nodes.classify.output.score }}',
          note: 'hi {{ input.customer.name }}',
        },
      }),
    );
    expect(error).toBeUndefined();
    expect(output).toEqual({
      status: 200,
      headers: expect.objectContaining({ 'content-type': 'application/json' }),
      body: { ok: true },
    });
    const req = target.requests[0];
    expect(req?.method).toBe('POST');
    expect(req?.query).toEqual({ label: 'vip', q: 'a b&c', run: 'run-1' });
    expect(req?.headers['x-label']).toBe('vip');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req?.text ?? '')).toEqual({
      name: 'Ada',
      items: [1, 2, 3],
      score: 0.9,
      note: 'hi Ada',
    });
  });

  it('sends a string body as text unless a content type is set', async () => {
    target.on('PUT', '/text', { status: 204 });
    await run(ctxFor({ method: 'PUT', url: `${target.url}/text`, body: 'Hello {{ input.customer.name }}' }));
    expect(target.requests[0]?.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(target.requests[0]?.text).toBe('Hello Ada');
    target.on('PUT', '/xml', { status: 204 });
    await run(
      ctxFor({
        method: 'PUT',
        url: `${target.url}/xml`,
        headers: { 'Content-Type': 'application/xml' },
        body: '<a/>',
      }),
    );
    expect(target.requests[1]?.headers['content-type']).toBe('application/xml');
  });

  it('parses JSON by content type in auto mode, and honours json/text', async () => {
    target.on('GET', '/json', { body: { a: 1 } });
    target.on('GET', '/plain-json', { headers: { 'content-type': 'text/plain' }, body: '{"b":2}' });
    expect((await run(ctxFor({ url: `${target.url}/json` }))).output).toMatchObject({ body: { a: 1 } });
    expect((await run(ctxFor({ url: `${target.url}/plain-json` }))).output).toMatchObject({
      body: '{"b":2}',
    });
    expect(
      (await run(ctxFor({ url: `${target.url}/plain-json`, responseType: 'json' }))).output,
    ).toMatchObject({ body: { b: 2 } });
    expect((await run(ctxFor({ url: `${target.url}/json`, responseType: 'text' }))).output).toMatchObject({
      body: '{"a":1}',
    });
    target.on('GET', '/not-json', { body: 'hello' });
    const { error } = await run(ctxFor({ url: `${target.url}/not-json`, responseType: 'json' }));
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect((error as Error).message).toMatch(/not JSON/);
  });

  it('returns only a safe subset of response headers', async () => {
    target.on('GET', '/h', {
      headers: {
        'set-cookie': 'session=abc',
        'x-request-id': 'req-1',
        server: 'secret-box/1.0',
        etag: '"v1"',
      },
      body: 'ok',
    });
    const { output } = await run(ctxFor({ url: `${target.url}/h` }));
    const headers = (output as { headers: Record<string, string> }).headers;
    expect(headers['x-request-id']).toBe('req-1');
    expect(headers.etag).toBe('"v1"');
    expect(headers['set-cookie']).toBeUndefined();
    expect(headers.server).toBeUndefined();
  });

  it('fails on a missing template variable, naming it', async () => {
    const { error } = await run(ctxFor({ url: `${target.url}/{{ input.missing }}` }));
    expect(error).toMatchObject({ code: 'template_variable_missing' });
    expect((error as Error).message).toMatch(/input\.missing/);
    expect(target.requests).toHaveLength(0);
  });
});

describe('connector executor: limits and status mapping', () => {
  it('enforces maxResponseBytes with a permanent error', async () => {
    target.on('GET', '/big', { streamBytes: 2 * 1024 * 1024 });
    const { error } = await run(ctxFor({ url: `${target.url}/big`, maxResponseBytes: 100_000 }));
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect((error as PermanentNodeError).code).toBe('connector_error');
  });

  it('enforces timeoutMs with a transient error', async () => {
    target.on('GET', '/slow', { delayMs: 1_500, body: 'late' });
    const { error } = await run(ctxFor({ url: `${target.url}/slow`, timeoutMs: 150 }));
    expect(error).toBeInstanceOf(TransientNodeError);
  });

  it('maps 500 to transient, 404 to permanent, 429 with Retry-After seconds or date', async () => {
    target.on('GET', '/500', { status: 500, body: { error: 'boom' } });
    target.on('GET', '/404', { status: 404, body: { error: 'no such customer' } });
    target.on('GET', '/429', { status: 429, headers: { 'retry-after': '7' }, body: 'slow down' });
    const later = new Date(Date.now() + 60_000).toUTCString();
    target.on('GET', '/503', { status: 503, headers: { 'retry-after': later } });

    const e500 = (await run(ctxFor({ url: `${target.url}/500` }))).error;
    expect(e500).toBeInstanceOf(TransientNodeError);
    expect(e500).toMatchObject({ code: 'connector_error', details: { status: 500 } });
    expect((e500 as Error).message).toMatch(/returned HTTP 500: \{"error":"boom"\}/);

    const e404 = (await run(ctxFor({ url: `${target.url}/404` }))).error;
    expect(e404).toBeInstanceOf(PermanentNodeError);
    expect(e404).toMatchObject({ code: 'connector_error', details: { status: 404 } });

    const e429 = (await run(ctxFor({ url: `${target.url}/429` }))).error;
    expect(e429).toBeInstanceOf(TransientNodeError);
    expect((e429 as TransientNodeError).retryAfterMs).toBe(7_000);

    const e503 = (await run(ctxFor({ url: `${target.url}/503` }))).error as TransientNodeError;
    expect(e503.retryAfterMs).toBeGreaterThan(55_000);
    expect(e503.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('refuses a blocked destination with the reason on the node span', async () => {
    const { error, nodeSpan } = await run(ctxFor({ url: 'http://169.254.169.254/latest/meta-data/' }));
    expect(error).toMatchObject({ code: 'connector_blocked' });
    expect(nodeSpan?.attributes[FlowtraceAttributes.CONNECTOR_BLOCKED_REASON]).toMatch(
      /169\.254\.169\.254.*link-local/,
    );
    expect(nodeSpan?.events.map((e) => e.name)).toContain('flowtrace.connector.blocked');
  });
});

describe('connector executor: credentials', () => {
  it('adds the credential headers at send time and keeps them out of spans, logs, errors and output', async () => {
    target.on('GET', '/me', (req) => ({
      status: 401,
      headers: { 'x-echo': String(req.headers.authorization) },
      body: { error: 'invalid token', got: req.headers.authorization },
    }));
    target.on('GET', '/ok', (req) => ({
      headers: { 'x-echo': String(req.headers.authorization) },
      body: { ok: true },
    }));
    const ok = await run(
      ctxFor({
        url: `${target.url}/ok`,
        credential: 'crm',
        headers: { Authorization: 'Bearer from-workflow' },
      }),
    );
    expect(target.requests[0]?.headers.authorization).toBe(SECRET);
    expect(target.requests[0]?.headers['x-tenant']).toBe('acme');
    expect(target.requests[0]?.headers.traceparent).toMatch(/^00-/);
    expect(JSON.stringify(ok.output)).not.toContain('sk-live');

    const failed = await run(ctxFor({ url: `${target.url}/me`, credential: 'crm' }));
    expect(failed.error).toBeInstanceOf(PermanentNodeError);
    const errorText = JSON.stringify({ message: (failed.error as Error).message, json: failed.error });
    expect(errorText).toContain('[REDACTED]');
    expect(errorText).not.toContain('sk-live');

    for (const span of [...ok.spans, ...failed.spans]) {
      const dump = JSON.stringify({ attributes: span.attributes, events: span.events, name: span.name });
      expect(dump).not.toContain('sk-live');
    }
    expect(ok.nodeSpan?.attributes[FlowtraceAttributes.CONNECTOR_CREDENTIAL]).toBe('crm');
    expect(ok.spans.some((s) => s.kind === SpanKind.CLIENT)).toBe(true);
    expect(JSON.stringify(logLines)).not.toContain('sk-live');
  });

  it('refuses an unknown credential naming only it, never the configured ones or their values', async () => {
    const { error } = await run(ctxFor({ url: `${target.url}/x`, credential: 'nope' }));
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect(error).toMatchObject({ code: 'credential_not_allowed' });
    expect((error as Error).message).toMatch(/credential "nope" is not available to this tenant/);
    expect((error as Error).message).not.toMatch(/billing|crm/);
    expect(target.requests).toHaveLength(0);
  });
});
