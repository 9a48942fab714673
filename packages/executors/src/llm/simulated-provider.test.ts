import type { JsonSchemaObject } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import type { ChatMessage, ChatRequest, ChatResponse, ChatToolCall, ChatToolDefinition } from './provider.ts';
import { SimulatedProvider } from './simulated-provider.ts';

function onlyCall(response: ChatResponse): ChatToolCall {
  expect(response.message.toolCalls).toHaveLength(1);
  const call = response.message.toolCalls[0];
  if (call === undefined) throw new Error('no tool call');
  return call;
}

const ask = (content: string): ChatRequest => ({
  model: 'simulated-small',
  messages: [{ role: 'user', content }],
});

describe('SimulatedProvider', () => {
  it('answers deterministically, clearly marked as simulated, with ~4 characters per token', async () => {
    const provider = new SimulatedProvider({ outputTokens: 20 });
    const prompt = 'Summarize the quarterly report for the board in three sentences.';
    const first = await provider.chat(ask(prompt));
    const second = await new SimulatedProvider({ outputTokens: 20 }).chat(ask(prompt));
    const other = await provider.chat(ask(`${prompt}!`));

    expect(second).toEqual(first);
    expect(other.message.text).not.toBe(first.message.text);
    expect(other.id).not.toBe(first.id);
    expect(first.message.text).toMatch(/^\[simulated\] /);
    expect(first.model).toBe('simulated-small');
    expect(first.finishReason).toBe('stop');
    expect(provider.genAiProviderName).toBe('flowtrace.simulated');
    expect(first.usage.inputTokens).toBe(Math.ceil(prompt.length / 4));
    expect(first.usage.outputTokens).toBeGreaterThanOrEqual(19);
    expect(first.usage.outputTokens).toBeLessThanOrEqual(22);
    expect(first.usage).toMatchObject({
      cachedInputTokens: 0,
      cacheCreationInputTokens: 0,
      reasoningTokens: 0,
    });
  });

  it('keeps answers within maxTokens', async () => {
    const response = await new SimulatedProvider({ outputTokens: 500 }).chat({
      ...ask('hello'),
      maxTokens: 10,
    });
    expect(response.usage.outputTokens).toBeLessThanOrEqual(11);
  });

  it('calls offered tools in order, one per turn, then answers once every tool has a result', async () => {
    const provider = new SimulatedProvider();
    const tools: ChatToolDefinition[] = [
      {
        name: 'search',
        description: 'Search the web',
        parameters: {
          type: 'object',
          properties: {
            query: { type: 'string' },
            limit: { type: 'integer', minimum: 1, maximum: 5 },
            lang: { type: 'string' },
          },
          required: ['query', 'limit'],
        },
      },
      {
        name: 'classify',
        description: 'Classify text',
        parameters: {
          type: 'object',
          properties: { label: { enum: ['spam', 'ham'] }, strict: { type: 'boolean' } },
          required: ['label', 'strict'],
        },
      },
    ];
    const messages: ChatMessage[] = [{ role: 'user', content: 'Find OpenTelemetry GenAI conventions' }];

    const first = await provider.chat({ model: 'sim', messages, tools });
    expect(first.finishReason).toBe('tool_calls');
    expect(first.message.text).toBeNull();
    expect(first.message.toolCalls).toHaveLength(1);
    const call1 = onlyCall(first);
    expect(call1.name).toBe('search');
    expect(call1.arguments).toEqual({
      query: 'Find OpenTelemetry GenAI conventions',
      limit: expect.any(Number),
    });
    const limit = (call1.arguments as { limit: number }).limit;
    expect(Number.isInteger(limit) && limit >= 1 && limit <= 5).toBe(true);
    // Same conversation, same call.
    expect(await provider.chat({ model: 'sim', messages, tools })).toEqual(first);

    messages.push({ role: 'assistant', content: null, toolCalls: first.message.toolCalls });
    messages.push({ role: 'tool', toolCallId: call1.id ?? '', content: '3 results' });
    const second = await provider.chat({ model: 'sim', messages, tools });
    const call2 = onlyCall(second);
    expect(call2.name).toBe('classify');
    expect(['spam', 'ham']).toContain((call2.arguments as { label: string }).label);
    expect(typeof (call2.arguments as { strict: unknown }).strict).toBe('boolean');
    expect(call2.id).not.toBe(call1.id);

    messages.push({ role: 'assistant', content: null, toolCalls: second.message.toolCalls });
    messages.push({ role: 'tool', toolCallId: call2.id ?? '', content: 'ham' });
    const final = await provider.chat({ model: 'sim', messages, tools });
    expect(final.finishReason).toBe('stop');
    expect(final.message.toolCalls).toEqual([]);
    expect(final.message.text).toMatch(/^\[simulated\]/);
  });

  it('answers JSON satisfying a simple schema when a response format is requested', async () => {
    const schema: JsonSchemaObject = {
      type: 'object',
      properties: {
        title: { type: 'string', maxLength: 12 },
        score: { type: 'number', minimum: 0, maximum: 1 },
        count: { type: 'integer', minimum: 3, maximum: 3 },
        ok: { type: 'boolean' },
        tags: { type: 'array', items: { type: 'string' }, minItems: 2 },
        level: { type: 'string', enum: ['low', 'mid', 'high'] },
        nested: { type: 'object', properties: { id: { type: ['string', 'null'] } }, required: ['id'] },
      },
      required: ['title', 'score', 'count', 'ok', 'tags', 'level', 'nested'],
      additionalProperties: false,
    };
    const response = await new SimulatedProvider().chat({
      ...ask('rate this'),
      responseFormat: { name: 'rating', schema },
    });
    const value = JSON.parse(response.message.text ?? '') as Record<string, unknown>;
    expect(Object.keys(value).sort()).toEqual(['count', 'level', 'nested', 'ok', 'score', 'tags', 'title']);
    expect(typeof value.title).toBe('string');
    expect((value.title as string).length).toBeLessThanOrEqual(12);
    expect(value.score).toBeGreaterThanOrEqual(0);
    expect(value.score).toBeLessThanOrEqual(1);
    expect(value.count).toBe(3);
    expect(typeof value.ok).toBe('boolean');
    expect((value.tags as unknown[]).length).toBeGreaterThanOrEqual(2);
    expect(['low', 'mid', 'high']).toContain(value.level);
    expect(typeof (value.nested as { id: unknown }).id).toBe('string');
  });

  it('waits its configured latency and stops waiting when aborted', async () => {
    const provider = new SimulatedProvider({ latencyMs: 80 });
    const started = performance.now();
    await provider.chat(ask('x'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);

    const slow = new SimulatedProvider({ latencyMs: 10_000 });
    const controller = new AbortController();
    const reason = new Error('cancelled');
    setTimeout(() => controller.abort(reason), 20);
    await expect(slow.chat(ask('x'), { signal: controller.signal })).rejects.toBe(reason);
  });

  it('fills a patterned string argument with a matching word of the conversation, as a model would', async () => {
    const provider = new SimulatedProvider();
    const response = await provider.chat({
      model: 'simulated-small',
      messages: [{ role: 'user', content: 'Where is my order o-77? It was promised last week.' }],
      tools: [
        {
          name: 'order_status',
          description: 'Order status',
          parameters: {
            type: 'object',
            properties: { orderId: { type: 'string', pattern: '^o-[0-9]+$' } },
            required: ['orderId'],
          },
        },
      ],
    });
    expect(onlyCall(response).arguments).toEqual({ orderId: 'o-77' });
  });
});
