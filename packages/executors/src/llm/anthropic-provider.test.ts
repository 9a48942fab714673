import { type JsonSchemaObject, PermanentNodeError, TransientNodeError } from '@flowtrace/workflow';
import { propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeAnthropicServer } from '../testing/fake-anthropic-server.ts';
import { createInMemoryTelemetry } from '../testing/in-memory-telemetry.ts';
import { AnthropicProvider, toAnthropicMessages } from './anthropic-provider.ts';
import type { ChatRequest } from './provider.ts';

const API_KEY = 'sk-ant-test-0123456789abcdefghij';

describe('AnthropicProvider', () => {
  const server = new FakeAnthropicServer({ apiKey: API_KEY });
  let provider: AnthropicProvider;

  beforeAll(async () => {
    await server.start();
    provider = new AnthropicProvider({ name: 'anthropic', baseUrl: server.url, apiKey: API_KEY });
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  it('maps system, tool calls and tool results to the Messages API', async () => {
    server.queueMessage({ text: 'It is 12°C in Paris and 3°C in Oslo.' });
    const request: ChatRequest = {
      model: 'claude-sonnet-4-6',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Paris and Oslo?' },
        {
          role: 'assistant',
          content: 'Let me check.',
          toolCalls: [
            { id: 'toolu_1', name: 'get_weather', arguments: { city: 'Paris' } },
            { id: 'toolu_2', name: 'get_weather', arguments: { city: 'Oslo' } },
          ],
        },
        { role: 'tool', toolCallId: 'toolu_1', content: '12°C' },
        { role: 'tool', toolCallId: 'toolu_2', content: 'timeout', isError: true },
      ],
      tools: [
        {
          name: 'get_weather',
          description: 'Current weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      ],
      temperature: 0.3,
      maxTokens: 500,
    };
    await provider.chat(request);

    const sent = server.lastRequest();
    expect(sent.path).toBe('/v1/messages');
    expect(sent.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(sent.headers['x-api-key'] ?? sent.headers.authorization).toMatch(new RegExp(API_KEY));
    // The SDK's own OpenTelemetry propagation is off (the worker's undici instrumentation propagates).
    expect(sent.headers.traceparent).toBeUndefined();
    expect(sent.body).toEqual({
      model: 'claude-sonnet-4-6',
      max_tokens: 500,
      system: 'Be brief.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Oslo?' }] },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Oslo' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: '12°C' },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: 'timeout', is_error: true },
          ],
        },
      ],
      tools: [
        {
          name: 'get_weather',
          description: 'Current weather',
          input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      ],
    });
    // API version 2026-10-21 rejects sampling parameters: temperature is dropped and not claimed.
    expect(provider.supportsTemperature).toBe(false);
  });

  it('defaults max_tokens and asks for structured output with output_config', async () => {
    server.queueMessage({ text: '{"label":"spam"}' });
    const schema: JsonSchemaObject = {
      type: 'object',
      properties: { label: { type: 'string' } },
      required: ['label'],
      additionalProperties: false,
    };
    await provider.chat({
      model: 'claude-haiku-4-5',
      messages: [{ role: 'user', content: 'classify' }],
      responseFormat: { name: 'label', schema },
    });
    expect(server.lastRequest().body).toMatchObject({
      max_tokens: 4096,
      output_config: { format: { type: 'json_schema', schema } },
    });
    expect(server.lastRequest().body).not.toHaveProperty('system');
  });

  it('maps text, tool_use blocks, stop_reason and usage with cache tokens', async () => {
    server.queueMessage({
      text: 'Checking.',
      toolUses: [{ id: 'toolu_9', name: 'search', input: { q: 'otel' } }],
      model: 'claude-sonnet-4-6-20260115',
      id: 'msg_1',
      usage: {
        inputTokens: 20,
        outputTokens: 15,
        cacheReadInputTokens: 300,
        cacheCreationInputTokens: 50,
        thinkingTokens: 4,
      },
    });
    const response = await provider.chat({
      model: 'claude-sonnet-4-6',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(response).toEqual({
      id: 'msg_1',
      model: 'claude-sonnet-4-6-20260115',
      message: {
        text: 'Checking.',
        toolCalls: [{ id: 'toolu_9', name: 'search', arguments: { q: 'otel' } }],
      },
      finishReason: 'tool_calls',
      providerFinishReason: 'tool_use',
      usage: {
        inputTokens: 370,
        outputTokens: 15,
        cachedInputTokens: 300,
        cacheCreationInputTokens: 50,
        reasoningTokens: 4,
      },
    });
  });

  it.each([
    ['end_turn', 'stop'],
    ['max_tokens', 'length'],
    ['refusal', 'content_filter'],
    ['pause_turn', 'other'],
  ])('normalizes stop_reason %s to %s', async (stopReason, finishReason) => {
    server.queueMessage({ text: 'x', stopReason });
    const response = await provider.chat({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    expect(response.finishReason).toBe(finishReason);
    expect(response.providerFinishReason).toBe(stopReason);
  });

  describe('errors', () => {
    const hi: ChatRequest = { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }] };

    it('maps 400 to a permanent error carrying the error type, without retrying', async () => {
      server.failNext(400, { message: 'temperature: Extra inputs are not permitted' });
      const error = await provider.chat(hi).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentNodeError);
      expect(error).toMatchObject({
        code: 'provider_rejected',
        details: { status: 400, providerErrorType: 'invalid_request_error', requestId: 'req_fake_400' },
      });
      expect(server.requests).toHaveLength(1);
    });

    it('maps 429 with Retry-After to a transient error with retryAfterMs', async () => {
      server.failNext(429, { retryAfter: 3 });
      const error = await provider.chat(hi).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientNodeError);
      expect(error).toMatchObject({ retryAfterMs: 3000, details: { providerErrorType: 'rate_limit_error' } });
      expect(server.requests).toHaveLength(1);
    });

    it.each([500, 529])('maps %i to a transient error', async (status) => {
      server.failNext(status);
      expect(await provider.chat(hi).catch((e: unknown) => e)).toBeInstanceOf(TransientNodeError);
      expect(server.requests).toHaveLength(1);
    });

    it('maps a dropped connection to a transient error', async () => {
      server.dropNext();
      expect(await provider.chat(hi).catch((e: unknown) => e)).toBeInstanceOf(TransientNodeError);
    });

    it('rethrows the abort reason when the caller aborts', async () => {
      const controller = new AbortController();
      const reason = new Error('shutdown');
      // Aborted once the request is in flight; the server never answers, so only the abort can end the call.
      server.enqueue(() => {
        controller.abort(reason);
        return new Promise<never>(() => {});
      });
      await expect(provider.chat(hi, { signal: controller.signal })).rejects.toBe(reason);
    });

    it('accepts a large max_tokens without the SDK demanding streaming', async () => {
      server.queueMessage({ text: 'ok' });
      const response = await provider.chat({ ...hi, maxTokens: 128_000 });
      expect(response.message.text).toBe('ok');
    });

    it('scrubs the API key from error messages', async () => {
      server.failNext(401, { message: `invalid x-api-key ${API_KEY}` });
      const error = (await provider.chat(hi).catch((e: unknown) => e)) as Error;
      expect(error.message).not.toContain(API_KEY);
    });
  });
});

describe('AnthropicProvider trace context', () => {
  const server = new FakeAnthropicServer();
  beforeAll(() => server.start());
  afterAll(() => server.close());

  it('sends no traceparent of its own unless configured to', async () => {
    const telemetry = createInMemoryTelemetry();
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    // Registered globally so that the SDK's built-in spans, were they on, would be exported here.
    trace.setGlobalTracerProvider(telemetry.tracerProvider);
    try {
      const quiet = new AnthropicProvider({ name: 'a', baseUrl: server.url, apiKey: API_KEY });
      const loud = new AnthropicProvider({
        name: 'b',
        baseUrl: server.url,
        apiKey: API_KEY,
        propagateTraceContext: true,
      });
      const hi: ChatRequest = { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }] };
      await telemetry.tracer.startActiveSpan('parent', async (span) => {
        await quiet.chat(hi);
        expect(server.lastRequest().headers.traceparent).toBeUndefined();
        await loud.chat(hi);
        expect(server.lastRequest().headers.traceparent).toBe(
          `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`,
        );
        span.end();
      });
      // The SDK's own spans are off: ours is the only chat span.
      expect(telemetry.spans().map((s) => s.name)).toEqual(['parent']);
    } finally {
      propagation.disable();
      trace.disable();
      await telemetry.shutdown();
    }
  });
});

describe('toAnthropicMessages', () => {
  it('joins system messages and merges a user turn that follows tool results', () => {
    const { system, messages } = toAnthropicMessages([
      { role: 'system', content: 'A' },
      { role: 'system', content: 'B' },
      { role: 'user', content: 'q' },
      { role: 'assistant', content: null, toolCalls: [{ id: 't1', name: 'n', arguments: 'not json' }] },
      { role: 'tool', toolCallId: 't1', content: 'r' },
      { role: 'user', content: 'and now?' },
      { role: 'assistant', content: '' },
    ]);
    expect(system).toBe('A\n\nB');
    expect(messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'q' }] },
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: 't1', name: 'n', input: { input: 'not json' } }],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: 'r' },
          { type: 'text', text: 'and now?' },
        ],
      },
    ]);
  });
});
