import type { JsonValue, LlmNodeConfig, ModelCallRecord, NodeExecutionContext } from '@flowtrace/workflow';
import { isRetryable, PermanentNodeError, TransientNodeError } from '@flowtrace/workflow';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAiServer } from '../testing/fake-openai-server.ts';
import { createInMemoryTelemetry, type InMemoryTelemetry } from '../testing/in-memory-telemetry.ts';
import { silentLogger } from '../testing/silent-logger.ts';
import type { ContentCaptureOptions } from './content-capture.ts';
import { createLlmExecutor } from './llm-executor.ts';
import { createProviderRegistry, type ProviderRegistry } from './provider-registry.ts';

const API_KEY = 'sk-exec-canary-5d1e2f3a4b5c6d7e';

function context(
  config: LlmNodeConfig,
  overrides: Partial<NodeExecutionContext<'llm'>> = {},
): NodeExecutionContext<'llm'> & { records: ModelCallRecord[] } {
  const records: ModelCallRecord[] = [];
  return {
    runId: 'run-1',
    tenantId: 'tenant-1',
    workflowId: 'wf-1',
    workflowName: 'demo',
    nodeId: 'summarize',
    nodeType: 'llm',
    attempt: 1,
    config,
    input: { topic: 'tracing', user: { name: 'Ada' } },
    upstream: { fetch: { status: 200, items: ['a', 'b'] } },
    signal: new AbortController().signal,
    logger: silentLogger,
    ledger: { recordModelCall: (call) => void records.push(call), recordAgentStep() {} },
    records,
    ...overrides,
  };
}

describe('createLlmExecutor', () => {
  const server = new FakeOpenAiServer({ apiKey: API_KEY });
  let telemetry: InMemoryTelemetry;
  let providers: ProviderRegistry;
  const captureOff: ContentCaptureOptions = { enabled: false, maxLength: 4096, redact: ['ACCT-\\d+'] };

  beforeAll(async () => {
    await server.start();
    providers = createProviderRegistry({
      openai: { kind: 'openai', baseUrl: server.baseUrl, apiKey: API_KEY },
      simulated: { kind: 'simulated' },
    });
  });
  beforeEach(() => {
    telemetry = createInMemoryTelemetry();
  });
  afterEach(async () => {
    server.reset();
    await telemetry.shutdown();
  });
  afterAll(() => server.close());

  const executor = (capture = captureOff) =>
    createLlmExecutor({ providers, tracer: telemetry.tracer, meter: telemetry.meter, capture });

  it('renders system and prompt from the input, predecessor outputs and run, and returns the answer', async () => {
    server.queueCompletion({ text: 'Tracing is neat.', usage: { promptTokens: 40, completionTokens: 5 } });
    const ctx = context({
      provider: 'openai',
      model: 'gpt-4o-mini',
      system: 'You help {{ input.user.name }}.',
      prompt:
        'Summarize {{input.topic}} given {{ nodes.fetch.output.items }} (run {{ run.id }}, first {{nodes.fetch.output.items[0]}}).',
      temperature: 0,
      maxTokens: 100,
    });
    const output = await executor().execute(ctx);

    expect(server.lastRequest().body).toMatchObject({
      model: 'gpt-4o-mini',
      temperature: 0,
      max_completion_tokens: 100,
      messages: [
        { role: 'system', content: 'You help Ada.' },
        { role: 'user', content: 'Summarize tracing given ["a","b"] (run run-1, first a).' },
      ],
    });
    expect(output).toEqual({
      text: 'Tracing is neat.',
      model: 'gpt-4o-mini',
      finishReason: 'stop',
      usage: { inputTokens: 40, outputTokens: 5 },
      costUsd: (40 * 0.15 + 5 * 0.6) / 1_000_000,
    });
    expect(ctx.records).toHaveLength(1);
    expect(ctx.records[0]).toMatchObject({
      provider: 'openai',
      requestModel: 'gpt-4o-mini',
      inputTokens: 40,
      outputTokens: 5,
    });
    expect(telemetry.span('chat gpt-4o-mini').attributes['gen_ai.usage.input_tokens']).toBe(40);
  });

  it('fails permanently on a missing template variable, before calling the provider', async () => {
    const ctx = context({
      provider: 'openai',
      model: 'gpt-4o-mini',
      prompt: 'Hello {{ input.missing.field }}',
    });
    const error = await executor()
      .execute(ctx)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect(error).toMatchObject({ code: 'template_variable_missing', nodeId: 'summarize' });
    expect((error as Error).message).toContain('input.missing.field');
    expect(server.requests).toHaveLength(0);
    expect(ctx.records).toHaveLength(0);
  });

  it('fails permanently on a provider that is not configured, naming the configured ones', async () => {
    const error = await executor()
      .execute(context({ provider: 'mistral', model: 'm', prompt: 'hi' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect((error as Error).message).toContain('provider "mistral" is not configured');
    expect((error as Error).message).toContain('openai, simulated');
  });

  it('parses the JSON answer when a response format is requested', async () => {
    const responseFormat: LlmNodeConfig['responseFormat'] = {
      type: 'json_schema',
      name: 'label',
      schema: { type: 'object', properties: { label: { type: 'string' } }, required: ['label'] },
    };
    server.queueCompletion({ text: '{"label":"spam"}' });
    const output = (await executor().execute(
      context({ provider: 'openai', model: 'gpt-4o-mini', prompt: 'classify', responseFormat }),
    )) as Record<string, JsonValue>;
    expect(output.json).toEqual({ label: 'spam' });
    expect(server.lastRequest().body).toMatchObject({ response_format: { type: 'json_schema' } });

    server.queueCompletion({ text: '```json\n{"label":"ham"}\n```' });
    const fenced = (await executor().execute(
      context({ provider: 'openai', model: 'gpt-4o-mini', prompt: 'classify', responseFormat }),
    )) as Record<string, JsonValue>;
    expect(fenced.json).toEqual({ label: 'ham' });

    server.queueCompletion({ text: '{"label": "sp', finishReason: 'length' });
    const error = await executor()
      .execute(context({ provider: 'openai', model: 'gpt-4o-mini', prompt: 'classify', responseFormat }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientNodeError);
    expect((error as Error).message).toContain('cut off at maxTokens');

    const simulated = (await executor().execute(
      context({ provider: 'simulated', model: 'simulated-small', prompt: 'classify', responseFormat }),
    )) as Record<string, JsonValue>;
    expect(simulated.json).toEqual({ label: expect.any(String) });
    expect(simulated.costUsd).toBeGreaterThan(0);
  });

  it('checks the JSON answer against the schema: a mismatch is a transient response_schema_mismatch', async () => {
    const responseFormat: LlmNodeConfig['responseFormat'] = {
      type: 'json_schema',
      name: 'label',
      schema: {
        type: 'object',
        properties: { label: { enum: ['spam', 'ham'] }, score: { type: 'number', minimum: 0, maximum: 1 } },
        required: ['label'],
        additionalProperties: false,
      },
    };
    const classify = () =>
      executor()
        .execute(context({ provider: 'openai', model: 'gpt-4o-mini', prompt: 'classify', responseFormat }))
        .catch((e: unknown) => e);

    server.queueCompletion({ text: '{"label":"spam","score":0.9}' });
    expect(((await classify()) as Record<string, JsonValue>).json).toEqual({ label: 'spam', score: 0.9 });

    for (const [answer, message, instancePath] of [
      ['{"label":"eggs"}', 'the answer at /label must be one of "spam", "ham"', '/label'],
      ['{"label":"ham","score":7}', 'the answer at /score must be <= 1', '/score'],
      ['{"score":0.5}', 'the answer must have the property "label"', ''],
      ['["spam"]', 'the answer must be object', ''],
    ] as const) {
      server.queueCompletion({ text: answer });
      const ctx = context({ provider: 'openai', model: 'gpt-4o-mini', prompt: 'classify', responseFormat });
      const error = await executor()
        .execute(ctx)
        .catch((e: unknown) => e);
      // Transient, like invalid JSON: the engine retries it under the node's retry policy.
      expect(error).toBeInstanceOf(TransientNodeError);
      expect(isRetryable(error)).toBe(true);
      expect(error).toMatchObject({
        code: 'response_schema_mismatch',
        nodeId: 'summarize',
        details: { provider: 'openai', instancePath },
      });
      expect((error as Error).message).toBe(
        `provider "openai" returned JSON that does not match the responseFormat schema: ${message}`,
      );
      // The call was made and paid for: its cost is recorded.
      expect(ctx.records).toHaveLength(1);
    }
  });

  it('fails permanently on a responseFormat schema that does not compile, before calling the provider', async () => {
    const ctx = context({
      provider: 'openai',
      model: 'gpt-4o-mini',
      prompt: 'classify',
      // As a definition stored before registration compiled schemas could hold it.
      responseFormat: {
        type: 'json_schema',
        name: 'label',
        schema: JSON.parse('{"type":"object","properties":3}'),
      },
    });
    const error = await executor()
      .execute(ctx)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect(error).toMatchObject({
      code: 'invalid_json_schema',
      nodeId: 'summarize',
      details: { path: 'config.responseFormat.schema' },
    });
    expect((error as Error).message).toMatch(
      /not a valid JSON Schema \(2020-12\): .*\/properties must be object/,
    );
    expect(server.requests).toHaveLength(0);
  });

  it('passes provider failures through as node errors', async () => {
    server.failNext(429, { retryAfter: 4 });
    const error = await executor()
      .execute(context({ provider: 'openai', model: 'gpt-4o-mini', prompt: 'hi' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientNodeError);
    expect((error as TransientNodeError).retryAfterMs).toBe(4000);
  });

  it('stops when the node is cancelled', async () => {
    const controller = new AbortController();
    const reason = new Error('run cancelled');
    // Cancelled while the model call is in flight; the server never answers, so only the abort ends it.
    server.enqueue(() => {
      controller.abort(reason);
      return new Promise<never>(() => {});
    });
    await expect(
      executor().execute(
        context({ provider: 'openai', model: 'gpt-4o-mini', prompt: 'hi' }, { signal: controller.signal }),
      ),
    ).rejects.toBe(reason);
  });

  describe('secrets', () => {
    const canaryInput = { note: `key ${API_KEY} account ACCT-123456` };
    const config: LlmNodeConfig = {
      provider: 'openai',
      model: 'gpt-4o-mini',
      prompt: 'Echo: {{ input.note }}',
    };

    it('never reach a span when capture is off', async () => {
      await executor().execute(context(config, { input: canaryInput }));
      const span = telemetry.span('chat gpt-4o-mini');
      const text = JSON.stringify({ a: span.attributes, e: span.events, s: span.status });
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain('ACCT-123456');
      expect(span.attributes).not.toHaveProperty('gen_ai.input.messages');
    });

    it('appear only as [REDACTED] when capture is on, the configured provider keys included', async () => {
      await executor({ ...captureOff, enabled: true }).execute(context(config, { input: canaryInput }));
      const span = telemetry.span('chat gpt-4o-mini');
      const text = JSON.stringify({ a: span.attributes, e: span.events, s: span.status });
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain('ACCT-123456');
      const input = JSON.parse(span.attributes['gen_ai.input.messages'] as string);
      expect(input[0].parts[0].content).toBe('Echo: key [REDACTED] account [REDACTED]');
      // The fake server echoes the prompt: the output is redacted too.
      expect(span.attributes['gen_ai.output.messages']).toContain('[REDACTED]');
    });
  });
});
