import { PermanentNodeError, TransientNodeError } from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAiServer } from '../testing/fake-openai-server.ts';
import { createInMemoryTelemetry } from '../testing/in-memory-telemetry.ts';
import { OpenAiCompatibleProvider } from './openai-provider.ts';
import type { ChatRequest } from './provider.ts';

const API_KEY = 'sk-test-openai-0123456789abcdef';

describe('OpenAiCompatibleProvider', () => {
  const server = new FakeOpenAiServer({ apiKey: API_KEY });
  let provider: OpenAiCompatibleProvider;

  beforeAll(async () => {
    await server.start();
    provider = new OpenAiCompatibleProvider({
      name: 'openai',
      baseUrl: server.baseUrl,
      apiKey: API_KEY,
      headers: { 'x-gateway-route': 'blue' },
    });
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  const request: ChatRequest = {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }],
      },
      { role: 'tool', toolCallId: 'call_1', content: '{"temp":12}' },
    ],
    tools: [
      {
        name: 'get_weather',
        description: 'Current weather',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    ],
    temperature: 0.2,
    maxTokens: 300,
    responseFormat: { name: 'answer', schema: { type: 'object', properties: { a: { type: 'string' } } } },
  };

  it('maps the request to Chat Completions', async () => {
    server.queueCompletion({ text: '{"a":"ok"}' });
    await provider.chat(request);

    const sent = server.lastRequest();
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(sent.headers['x-gateway-route']).toBe('blue');
    expect(sent.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":12}' },
      ],
      temperature: 0.2,
      max_completion_tokens: 300,
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Current weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          },
        },
      ],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'answer',
          schema: { type: 'object', properties: { a: { type: 'string' } } },
          strict: true,
        },
      },
    });
  });

  it('maps text answers and usage, including cached, cache-write and reasoning tokens', async () => {
    server.queueCompletion({
      text: 'Sunny.',
      model: 'gpt-4o-mini-2024-07-18',
      id: 'chatcmpl-42',
      usage: {
        promptTokens: 120,
        completionTokens: 30,
        cachedTokens: 100,
        cacheWriteTokens: 7,
        reasoningTokens: 12,
      },
    });
    const response = await provider.chat({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(response).toEqual({
      id: 'chatcmpl-42',
      model: 'gpt-4o-mini-2024-07-18',
      message: { text: 'Sunny.', toolCalls: [] },
      finishReason: 'stop',
      providerFinishReason: 'stop',
      usage: {
        inputTokens: 120,
        outputTokens: 30,
        cachedInputTokens: 100,
        cacheCreationInputTokens: 7,
        reasoningTokens: 12,
      },
    });
  });

  it('parses tool calls from message.tool_calls, keeping unparseable arguments as the raw string', async () => {
    server.queueCompletion({
      toolCalls: [
        { id: 'call_a', name: 'get_weather', arguments: { city: 'Oslo' } },
        { id: 'call_b', name: 'broken', arguments: '{"city": ' },
      ],
    });
    const response = await provider.chat(request);
    expect(response.finishReason).toBe('tool_calls');
    expect(response.providerFinishReason).toBe('tool_calls');
    expect(response.message).toEqual({
      text: null,
      toolCalls: [
        { id: 'call_a', name: 'get_weather', arguments: { city: 'Oslo' } },
        { id: 'call_b', name: 'broken', arguments: '{"city": ' },
      ],
    });
  });

  it('sends max_tokens instead when configured for older servers, and no optional fields when unset', async () => {
    const legacy = new OpenAiCompatibleProvider({
      name: 'legacy',
      baseUrl: server.baseUrl,
      apiKey: API_KEY,
      maxTokensParam: 'max_tokens',
    });
    await legacy.chat({ model: 'llama3', messages: [{ role: 'user', content: 'hi' }], maxTokens: 5 });
    expect(server.lastRequest().body).toEqual({
      model: 'llama3',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 5,
    });
  });

  it('reads no OPENAI_* environment variables', async () => {
    const saved = { key: process.env.OPENAI_API_KEY, url: process.env.OPENAI_BASE_URL };
    process.env.OPENAI_API_KEY = 'sk-from-env-should-not-be-used';
    process.env.OPENAI_BASE_URL = 'http://127.0.0.1:1/v1';
    try {
      const fromConfig = new OpenAiCompatibleProvider({
        name: 'openai',
        baseUrl: server.baseUrl,
        apiKey: API_KEY,
      });
      await fromConfig.chat({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
      expect(server.lastRequest().headers.authorization).toBe(`Bearer ${API_KEY}`);
    } finally {
      restoreEnv('OPENAI_API_KEY', saved.key);
      restoreEnv('OPENAI_BASE_URL', saved.url);
    }
  });

  it('reports server.address/port from the base URL and gen_ai.provider.name', () => {
    expect(provider.genAiProviderName).toBe('openai');
    expect(provider.server).toEqual({ address: '127.0.0.1', port: Number(new URL(server.url).port) });
    const azure = new OpenAiCompatibleProvider({
      name: 'az',
      baseUrl: 'https://acme.openai.azure.com/openai/v1',
      apiKey: 'k',
    });
    expect(azure.genAiProviderName).toBe('azure.ai.openai');
    expect(azure.server).toEqual({ address: 'acme.openai.azure.com', port: 443 });
  });

  describe('errors', () => {
    const hi: ChatRequest = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

    it('maps 400 to a permanent provider_rejected error, without retrying', async () => {
      server.failNext(400, { message: 'Invalid schema for response_format', type: 'invalid_request_error' });
      const error = await provider.chat(hi).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentNodeError);
      expect(error).toMatchObject({
        code: 'provider_rejected',
        details: { provider: 'openai', status: 400, providerErrorType: 'invalid_request_error' },
      });
      expect((error as Error).message).toContain('Invalid schema for response_format');
      expect(server.requests).toHaveLength(1);
    });

    it('maps 429 with Retry-After (seconds) to a transient error with retryAfterMs', async () => {
      server.failNext(429, { retryAfter: 7, message: 'Rate limit reached' });
      const error = await provider.chat(hi).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientNodeError);
      expect(error).toMatchObject({ code: 'provider_error', retryAfterMs: 7000, details: { status: 429 } });
      expect(server.requests).toHaveLength(1);
    });

    it('prefers retry-after-ms and understands HTTP dates', async () => {
      server.failNext(429, { retryAfter: 7, retryAfterMs: 1500 });
      expect(await provider.chat(hi).catch((e: unknown) => e)).toMatchObject({ retryAfterMs: 1500 });
      server.failNext(503, { retryAfter: new Date(Date.now() + 30_000).toUTCString() });
      const error = (await provider.chat(hi).catch((e: unknown) => e)) as TransientNodeError;
      expect(error).toBeInstanceOf(TransientNodeError);
      expect(error.retryAfterMs).toBeGreaterThan(25_000);
      expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
    });

    it.each([408, 409, 500, 502])('maps %i to a transient error', async (status) => {
      server.failNext(status);
      const error = await provider.chat(hi).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientNodeError);
      expect(error).toMatchObject({ details: { status } });
      expect(server.requests).toHaveLength(1);
    });

    it.each([401, 403, 404, 422])('maps %i to a permanent error', async (status) => {
      server.failNext(status);
      expect(await provider.chat(hi).catch((e: unknown) => e)).toBeInstanceOf(PermanentNodeError);
    });

    it('maps a dropped connection and an unreachable server to transient errors', async () => {
      server.dropNext();
      const dropped = await provider.chat(hi).catch((e: unknown) => e);
      expect(dropped).toBeInstanceOf(TransientNodeError);
      expect(dropped).toMatchObject({ details: { reason: 'connection' } });

      const closed = new FakeOpenAiServer();
      await closed.start();
      const url = closed.baseUrl;
      await closed.close();
      const unreachable = new OpenAiCompatibleProvider({ name: 'gone', baseUrl: url, apiKey: API_KEY });
      expect(await unreachable.chat(hi).catch((e: unknown) => e)).toBeInstanceOf(TransientNodeError);
    });

    it('maps its own timeout to a transient error', async () => {
      server.enqueue({ delayMs: 2_000, body: {} });
      const slow = new OpenAiCompatibleProvider({
        name: 'slow',
        baseUrl: server.baseUrl,
        apiKey: API_KEY,
        timeoutMs: 100,
      });
      const error = await slow.chat(hi).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientNodeError);
      expect(error).toMatchObject({ details: { reason: 'timeout' } });
    });

    it('rethrows the abort reason when the caller aborts', async () => {
      const controller = new AbortController();
      const reason = new Error('node cancelled');
      // Aborted once the request is in flight; the server never answers, so only the abort can end the call.
      server.enqueue(() => {
        controller.abort(reason);
        return new Promise<never>(() => {});
      });
      await expect(provider.chat(hi, { signal: controller.signal })).rejects.toBe(reason);
      expect(server.chatRequests).toHaveLength(1);
      expect(server.answered).toEqual([]);
    });

    it('never puts the API key in an error message, even when the server echoes it', async () => {
      server.failNext(401, { message: `Incorrect API key provided: ${API_KEY}.` });
      const error = (await provider.chat(hi).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(PermanentNodeError);
      expect(error.message).not.toContain(API_KEY);
      expect(error.message).toContain('[REDACTED]');
      expect(JSON.stringify(error)).not.toContain(API_KEY);
    });
  });

  it('propagates traceparent itself when configured to', async () => {
    const telemetry = createInMemoryTelemetry();
    try {
      const propagating = new OpenAiCompatibleProvider({
        name: 'p',
        baseUrl: server.baseUrl,
        apiKey: API_KEY,
        propagateTraceContext: true,
      });
      // The default W3C propagator is only installed by the SDK; install it for this test.
      const { W3CTraceContextPropagator } = await import('@opentelemetry/core');
      const { propagation } = await import('@opentelemetry/api');
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      await telemetry.tracer.startActiveSpan('parent', async (span) => {
        await propagating.chat({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
        span.end();
        const traceparent = server.lastRequest().headers.traceparent;
        expect(traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
        expect(trace.getActiveSpan()).toBe(span);
      });
      propagation.disable();
    } finally {
      await telemetry.shutdown();
    }
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
