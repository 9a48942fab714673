import type { ModelCallRecord } from '@flowtrace/workflow';
import { PermanentNodeError, STORED_JSON_MAX_DEPTH, TransientNodeError } from '@flowtrace/workflow';
import { propagation, type SpanContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeAnthropicServer } from '../testing/fake-anthropic-server.ts';
import { FakeOpenAiServer } from '../testing/fake-openai-server.ts';
import { createInMemoryTelemetry, type InMemoryTelemetry } from '../testing/in-memory-telemetry.ts';
import { AnthropicProvider } from './anthropic-provider.ts';
import { CONTENT_CAPTURE_DISABLED, type ContentCaptureOptions } from './content-capture.ts';
import { OpenAiCompatibleProvider } from './openai-provider.ts';
import { createPricingTable, PRICING_VERSION } from './pricing.ts';
import type { ChatRequest } from './provider.ts';
import { SimulatedProvider } from './simulated-provider.ts';
import { type TracedChatOptions, tracedChat } from './traced-chat.ts';

const API_KEY = 'sk-canary-apikey-7f3a9c2e5b1d4f60';
const ACCOUNT = 'ACCT-99887766';
const CANARIES = [API_KEY, ACCOUNT];

/** A ledger that also records the span active when each call is recorded. */
function recordingLedger() {
  const calls: { record: ModelCallRecord; active: SpanContext | undefined }[] = [];
  return {
    calls,
    recordModelCall(record: ModelCallRecord) {
      calls.push({ record, active: trace.getActiveSpan()?.spanContext() });
    },
  };
}

/** Everything a span exposes to an exporter, as text. */
function spanText(span: ReadableSpan): string {
  return JSON.stringify({
    name: span.name,
    attributes: span.attributes,
    events: span.events,
    status: span.status,
    links: span.links,
  });
}

describe('tracedChat', () => {
  const server = new FakeOpenAiServer({ apiKey: API_KEY });
  let telemetry: InMemoryTelemetry;
  let provider: OpenAiCompatibleProvider;
  const pricing = createPricingTable();

  beforeAll(async () => {
    await server.start();
    provider = new OpenAiCompatibleProvider({ name: 'openai', baseUrl: server.baseUrl, apiKey: API_KEY });
  });
  beforeEach(() => {
    telemetry = createInMemoryTelemetry();
  });
  afterEach(async () => {
    server.reset();
    await telemetry.shutdown();
  });
  afterAll(() => server.close());

  const request: ChatRequest = {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: `My key is ${API_KEY} and my account is ${ACCOUNT}. Say hi.` },
    ],
    temperature: 0.4,
    maxTokens: 64,
  };

  function options(overrides: Partial<TracedChatOptions> = {}): TracedChatOptions {
    return {
      tracer: telemetry.tracer,
      meter: telemetry.meter,
      provider,
      providerName: 'openai',
      request,
      capture: CONTENT_CAPTURE_DISABLED,
      ledger: recordingLedger(),
      pricing,
      ...overrides,
    };
  }

  it('records a GenAI CLIENT span with request, response, usage and cost attributes', async () => {
    server.queueCompletion({
      text: 'hi',
      model: 'gpt-4o-mini-2024-07-18',
      id: 'chatcmpl-7',
      usage: { promptTokens: 1000, completionTokens: 200, cachedTokens: 400, reasoningTokens: 50 },
    });
    const result = await tracedChat(options());

    const span = telemetry.span('chat gpt-4o-mini');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    const port = Number(new URL(server.url).port);
    // gpt-4o-mini: 600 uncached × 0.15 + 400 cached × 0.075 + 200 output × 0.6, per 1M tokens.
    const expectedCost = (600 * 0.15 + 400 * 0.075 + 200 * 0.6) / 1_000_000;
    expect(span.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.temperature': 0.4,
      'gen_ai.request.max_tokens': 64,
      'gen_ai.output.type': 'text',
      'server.address': '127.0.0.1',
      'server.port': port,
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.response.id': 'chatcmpl-7',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 200,
      'gen_ai.usage.cache_read.input_tokens': 400,
      'gen_ai.usage.reasoning.output_tokens': 50,
      'gen_ai.usage.cost': expect.closeTo(expectedCost, 12),
    });
    expect(result.costUsd).toBeCloseTo(expectedCost, 12);
    expect(result.pricingVersion).toBe(PRICING_VERSION);
    expect(result.response.message.text).toBe('hi');
  });

  it('gives the ledger exactly one record per call, while the chat span is active', async () => {
    const ledger = recordingLedger();
    server.queueCompletion({
      text: 'one',
      usage: { promptTokens: 10, completionTokens: 2, cachedTokens: 4, reasoningTokens: 1 },
    });
    await telemetry.tracer.startActiveSpan('process nodes.llm', async (parent) => {
      await tracedChat(options({ ledger }));
      parent.end();
    });

    expect(ledger.calls).toHaveLength(1);
    const [{ record, active } = { record: undefined, active: undefined }] = ledger.calls;
    const span = telemetry.span('chat gpt-4o-mini');
    expect(active?.spanId).toBe(span.spanContext().spanId);
    expect(active?.traceId).toBe(span.spanContext().traceId);
    expect(span.parentSpanContext?.spanId).toBe(telemetry.span('process nodes.llm').spanContext().spanId);
    expect(record).toEqual({
      provider: 'openai',
      operation: 'chat',
      requestModel: 'gpt-4o-mini',
      responseModel: 'gpt-4o-mini',
      responseId: expect.any(String),
      inputTokens: 10,
      outputTokens: 2,
      cachedInputTokens: 4,
      reasoningTokens: 1,
      costUsd: expect.any(Number),
      pricingVersion: PRICING_VERSION,
      latencyMs: expect.any(Number),
      finishReason: 'stop',
    });
  });

  it('records gen_ai.client.token.usage and gen_ai.client.operation.duration', async () => {
    server.queueCompletion({ text: 'x', usage: { promptTokens: 300, completionTokens: 20 } });
    const result = await tracedChat(options());

    const metrics = await telemetry.metrics();
    expect(metrics.get('gen_ai.client.token.usage')?.descriptor.unit).toBe('{token}');
    expect(metrics.get('gen_ai.client.operation.duration')?.descriptor.unit).toBe('s');

    const tokens = await telemetry.histogramPoints('gen_ai.client.token.usage');
    const common = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(server.url).port),
    };
    expect(tokens.map((p) => ({ attributes: p.attributes, sum: p.value.sum, count: p.value.count }))).toEqual(
      expect.arrayContaining([
        { attributes: { ...common, 'gen_ai.token.type': 'input' }, sum: 300, count: 1 },
        { attributes: { ...common, 'gen_ai.token.type': 'output' }, sum: 20, count: 1 },
      ]),
    );
    const durations = await telemetry.histogramPoints('gen_ai.client.operation.duration');
    expect(durations).toHaveLength(1);
    expect(durations[0]?.attributes).toEqual(common);
    expect(durations[0]?.value.count).toBe(1);
    // The call's measured latency, in seconds.
    expect(durations[0]?.value.sum).toBe(result.latencyMs / 1000);
  });

  it('marks failures with error.type, ERROR status and an exception event, and records no model call', async () => {
    const ledger = recordingLedger();
    server.failNext(429, { retryAfter: 2 });
    const error = await tracedChat(options({ ledger })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientNodeError);

    const span = telemetry.span('chat gpt-4o-mini');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['error.type']).toBe('429');
    expect(span.events.map((e) => e.name)).toEqual(['exception']);
    expect(span.events[0]?.attributes?.['exception.type']).toBe('TransientNodeError');
    expect(span.status.message).toContain('HTTP 429');
    expect(ledger.calls).toHaveLength(0);
    const durations = await telemetry.histogramPoints('gen_ai.client.operation.duration');
    expect(durations[0]?.attributes['error.type']).toBe('429');
    expect(await telemetry.histogramPoints('gen_ai.client.token.usage')).toHaveLength(0);
  });

  describe('content capture', () => {
    const capture: ContentCaptureOptions = {
      enabled: true,
      maxLength: 4096,
      redact: ['ACCT-\\d+'],
      secrets: [API_KEY],
    };

    it('records no prompt or completion text by default, and no secret anywhere', async () => {
      // Capture off, as configured from an environment with redact patterns but no opt-in.
      const off: ContentCaptureOptions = { ...capture, enabled: false };
      // The fake server echoes the prompt back in its answer.
      await tracedChat(options({ capture: off }));
      server.failNext(400, { message: `Bad input: ${request.messages[1]?.content}` });
      const error = (await tracedChat(options({ capture: off })).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(PermanentNodeError);

      const spans = telemetry.spans();
      expect(spans).toHaveLength(2);
      for (const span of spans) {
        expect(span.attributes).not.toHaveProperty('gen_ai.input.messages');
        expect(span.attributes).not.toHaveProperty('gen_ai.output.messages');
        expect(span.attributes).not.toHaveProperty('gen_ai.system_instructions');
        for (const canary of CANARIES) expect(spanText(span)).not.toContain(canary);
      }
      // The prompt echoed in the provider's error is redacted on the span and in the error itself.
      expect(spanText(spans[1] as ReadableSpan)).toContain('[REDACTED]');
      for (const canary of CANARIES) expect(`${error.message}${error.stack}`).not.toContain(canary);
    });

    it('captures messages per the GenAI conventions when enabled, with secrets redacted', async () => {
      await tracedChat(options({ capture }));
      server.failNext(400, { message: `Bad input: ${request.messages[1]?.content}` });
      await tracedChat(options({ capture })).catch(() => undefined);

      const [ok, failed] = telemetry.spans() as [ReadableSpan, ReadableSpan];
      const system = JSON.parse(ok.attributes['gen_ai.system_instructions'] as string);
      expect(system).toEqual([{ type: 'text', content: 'You are terse.' }]);
      const input = JSON.parse(ok.attributes['gen_ai.input.messages'] as string);
      expect(input).toEqual([
        {
          role: 'user',
          parts: [{ type: 'text', content: 'My key is [REDACTED] and my account is [REDACTED]. Say hi.' }],
        },
      ]);
      const output = JSON.parse(ok.attributes['gen_ai.output.messages'] as string);
      expect(output).toEqual([
        {
          role: 'assistant',
          parts: [{ type: 'text', content: expect.stringContaining('[REDACTED]') }],
          finish_reason: 'stop',
        },
      ]);
      for (const span of [ok, failed])
        for (const canary of CANARIES) expect(spanText(span)).not.toContain(canary);
      expect(failed.attributes).toHaveProperty('gen_ai.input.messages');
      expect(failed.attributes).not.toHaveProperty('gen_ai.output.messages');
    });
  });

  it('bounds the depth of tool-call arguments a model nests deeper than the stack allows', async () => {
    const depth = 100_000;
    server.queueCompletion({
      toolCalls: [{ name: 'lookup', arguments: `{"q":${'['.repeat(depth)}"x"${']'.repeat(depth)}}` }],
    });
    const capture: ContentCaptureOptions = { enabled: true, maxLength: 100_000, redact: [] };
    const first = await tracedChat(options({ capture }));
    const [call] = first.response.message.toolCalls;
    const marker = `[removed: nested deeper than ${STORED_JSON_MAX_DEPTH} levels]`;
    expect(JSON.stringify(call?.arguments)).toContain(marker);
    expect(String(telemetry.span('chat gpt-4o-mini').attributes['gen_ai.output.messages'])).toContain(marker);

    // The arguments go back to the provider with the tool's result, as an agent sends them.
    server.queueCompletion({ text: 'done' });
    const second = await tracedChat(
      options({
        capture,
        request: {
          ...request,
          messages: [
            ...request.messages,
            { role: 'assistant', content: null, toolCalls: first.response.message.toolCalls },
            { role: 'tool', toolCallId: call?.id ?? '', content: 'ok' },
          ],
        },
      }),
    );
    expect(second.response.message.text).toBe('done');
    expect(JSON.stringify(server.chatRequests[1]?.body)).toContain(JSON.stringify(marker).slice(1, -1));
  });

  it('does not claim a temperature the provider does not send', async () => {
    const anthropic = new FakeAnthropicServer();
    await anthropic.start();
    try {
      await tracedChat(
        options({
          provider: new AnthropicProvider({ name: 'anthropic', baseUrl: anthropic.url, apiKey: 'sk-ant-x' }),
          providerName: 'anthropic',
          request: { ...request, model: 'claude-haiku-4-5' },
        }),
      );
      const span = telemetry.span('chat claude-haiku-4-5');
      expect(span.attributes['gen_ai.provider.name']).toBe('anthropic');
      expect(span.attributes).not.toHaveProperty('gen_ai.request.temperature');
      expect(span.attributes['gen_ai.response.finish_reasons']).toEqual(['end_turn']);
      expect(span.attributes['gen_ai.usage.cost']).toEqual(expect.any(Number));
    } finally {
      await anthropic.close();
    }
  });

  it('works offline with the simulated provider, with a fake but non-null cost', async () => {
    const ledger = recordingLedger();
    const result = await tracedChat(
      options({
        provider: new SimulatedProvider(),
        providerName: 'simulated',
        request: { ...request, model: 'simulated-small' },
        ledger,
      }),
    );
    const span = telemetry.span('chat simulated-small');
    expect(span.attributes['gen_ai.provider.name']).toBe('flowtrace.simulated');
    expect(span.attributes).not.toHaveProperty('server.address');
    expect(result.costUsd).toBeGreaterThan(0);
    expect(ledger.calls[0]?.record.provider).toBe('simulated');
  });

  it('rethrows an abort with the signal reason and ends the span as an error', async () => {
    const controller = new AbortController();
    const reason = new DOMException('node timed out', 'TimeoutError');
    // Aborted once the request is in flight; the server never answers, so only the abort can end the call.
    server.enqueue(() => {
      controller.abort(reason);
      return new Promise<never>(() => {});
    });
    await expect(tracedChat(options({ signal: controller.signal }))).rejects.toBe(reason);
    const span = telemetry.span('chat gpt-4o-mini');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['error.type']).toBe('TimeoutError');
  });

  it('lets the undici instrumentation send traceparent for an HTTP span under the chat span', async () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const instrumentation = new UndiciInstrumentation();
    instrumentation.setTracerProvider(telemetry.tracerProvider);
    instrumentation.enable();
    try {
      server.queueCompletion({ text: 'traced' });
      await tracedChat(options());
    } finally {
      instrumentation.disable();
      propagation.disable();
    }
    const chat = telemetry.span('chat gpt-4o-mini');
    const http = telemetry.spans().find((s) => s.name === 'POST');
    expect(http?.parentSpanContext?.spanId).toBe(chat.spanContext().spanId);
    const traceparent = server.lastRequest().headers.traceparent;
    expect(traceparent).toBe(`00-${chat.spanContext().traceId}-${http?.spanContext().spanId}-01`);
  });
});
