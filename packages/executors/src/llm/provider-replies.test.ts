import { TransientNodeError } from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiCompatibleEmbedder } from '../rag/openai-compatible-embedder.ts';
import { FakeAnthropicServer } from '../testing/fake-anthropic-server.ts';
import { FakeOpenAiServer } from '../testing/fake-openai-server.ts';
import { AnthropicProvider } from './anthropic-provider.ts';
import { OpenAiCompatibleProvider } from './openai-provider.ts';
import type { ChatRequest } from './provider.ts';

const openai = new FakeOpenAiServer();
const anthropic = new FakeAnthropicServer({ apiKey: 'sk-ant-test-0123456789' });
const hi: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

beforeAll(async () => {
  await Promise.all([openai.start(), anthropic.start()]);
});
afterEach(() => {
  openai.reset();
  anthropic.reset();
});
afterAll(async () => {
  await Promise.all([openai.close(), anthropic.close()]);
});

/** What a 200 with this body makes the call throw. */
async function failure(call: () => Promise<unknown>): Promise<TransientNodeError> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TransientNodeError);
  return error as TransientNodeError;
}

const completion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1 },
};

describe('OpenAI-compatible chat: malformed 200 replies', () => {
  const provider = () =>
    new OpenAiCompatibleProvider({ name: 'openai', baseUrl: openai.baseUrl, apiKey: 'k' });

  it.each([
    [
      'no choices',
      { ...completion, choices: undefined },
      /malformed chat completion: choices: .*expected array/,
    ],
    ['empty choices', { ...completion, choices: [] }, /choices: has no choices/],
    [
      'a choice without message',
      { ...completion, choices: [{ finish_reason: 'stop' }] },
      /choices\[0\]\.message/,
    ],
    [
      'content of the wrong type',
      { ...completion, choices: [{ message: { content: 42 }, finish_reason: 'stop' }] },
      /choices\[0\]\.message\.content/,
    ],
    [
      'a tool call without a function',
      {
        ...completion,
        choices: [{ message: { content: null, tool_calls: [{ id: 'c', type: 'function' }] } }],
      },
      /choices\[0\]\.message\.tool_calls\[0\]: has neither "function" nor "custom"/,
    ],
    ['usage of the wrong type', { ...completion, usage: { prompt_tokens: 'many' } }, /usage\.prompt_tokens/],
    ['no model', { ...completion, model: undefined }, /model: /],
    ['a JSON array', [completion], /\(reply\)|expected object/],
  ])('%s is provider_error naming the field', async (_name, body, message) => {
    openai.enqueue({ status: 200, body });
    const error = await failure(() => provider().chat(hi));
    expect(error.code).toBe('provider_error');
    expect(error.message).toMatch(/^provider "openai" returned a malformed chat completion: /);
    expect(error.message).toMatch(message);
    expect(error.details).toMatchObject({ provider: 'openai', reason: 'malformed_reply' });
  });

  it('names the field in details', async () => {
    openai.enqueue({ status: 200, body: { ...completion, choices: undefined } });
    expect((await failure(() => provider().chat(hi))).details).toMatchObject({ field: 'choices' });
  });

  it('a body that is not JSON is provider_error too', async () => {
    openai.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"choices": [' });
    const broken = await failure(() => provider().chat(hi));
    expect(broken.code).toBe('provider_error');
    openai.enqueue({ status: 200, headers: { 'content-type': 'text/html' }, body: '<html>gateway</html>' });
    const html = await failure(() => provider().chat(hi));
    expect(html.code).toBe('provider_error');
    expect(html.message).toMatch(/malformed chat completion/);
  });

  it('still accepts tool-call arguments sent as an object by some compatible servers', async () => {
    openai.enqueue({
      status: 200,
      body: {
        ...completion,
        choices: [
          {
            message: {
              content: null,
              tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: { a: 1 } } }],
            },
            finish_reason: 'tool_calls',
          },
        ],
        usage: null,
      },
    });
    const response = await provider().chat(hi);
    expect(response.message.toolCalls).toEqual([{ id: 'c1', name: 'f', arguments: { a: 1 } }]);
    expect(response.usage.inputTokens).toBe(0);
  });
});

describe('Anthropic messages: malformed 200 replies', () => {
  const provider = () =>
    new AnthropicProvider({ name: 'anthropic', baseUrl: anthropic.url, apiKey: 'sk-ant-test-0123456789' });
  const message = {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude',
    content: [{ type: 'text', text: 'hello' }],
    stop_reason: 'end_turn',
    usage: { input_tokens: 1, output_tokens: 1 },
  };

  it.each([
    ['no content', { ...message, content: undefined }, /content: .*expected array/],
    ['a text block without text', { ...message, content: [{ type: 'text' }] }, /content\[0\]/],
    [
      'a tool_use block without a name',
      { ...message, content: [{ type: 'tool_use', id: 't', input: {} }] },
      /content\[0\]/,
    ],
    ['no usage', { ...message, usage: undefined }, /usage: /],
    ['negative tokens', { ...message, usage: { input_tokens: -1, output_tokens: 1 } }, /usage\.input_tokens/],
  ])('%s is provider_error naming the field', async (_name, body, field) => {
    anthropic.enqueue({ status: 200, body });
    const error = await failure(() => provider().chat(hi));
    expect(error.code).toBe('provider_error');
    expect(error.message).toMatch(/^provider "anthropic" returned a malformed message: /);
    expect(error.message).toMatch(field);
  });

  it('ignores block types it does not read', async () => {
    anthropic.enqueue({
      status: 200,
      body: { ...message, content: [{ type: 'thinking', thinking: '...' }, ...message.content] },
    });
    expect((await provider().chat(hi)).message.text).toBe('hello');
  });
});

describe('OpenAI-compatible embeddings: malformed 200 replies', () => {
  const embedder = () =>
    new OpenAiCompatibleEmbedder({
      baseURL: openai.baseUrl,
      apiKey: 'k',
      model: 'e',
      dimensions: 2,
      tracer: trace.getTracer('test'),
    });

  it.each([
    ['no data', { model: 'e' }, /data: .*expected array/],
    ['a vector as a base64 string', { data: [{ index: 0, embedding: 'AAAA' }] }, /data\[0\]\.embedding/],
    [
      'a vector with a non-number',
      { data: [{ index: 0, embedding: [0.1, 'x'] }] },
      /data\[0\]\.embedding\[1\]/,
    ],
    ['no index', { data: [{ embedding: [0.1, 0.2] }] }, /data\[0\]\.index/],
  ])('%s is provider_error naming the field', async (_name, body, field) => {
    openai.enqueue({ status: 200, body });
    const error = await failure(() => embedder().embed(['a']));
    expect(error.code).toBe('provider_error');
    expect(error.message).toMatch(/returned a malformed embeddings response: /);
    expect(error.message).toMatch(field);
  });
});
