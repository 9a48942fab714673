import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PermanentNodeError } from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiCompatibleEmbedder } from '../rag/openai-compatible-embedder.ts';
import { FakeAnthropicServer } from '../testing/fake-anthropic-server.ts';
import { FakeOpenAiServer } from '../testing/fake-openai-server.ts';
import { AnthropicProvider } from './anthropic-provider.ts';
import { OpenAiCompatibleProvider } from './openai-provider.ts';
import type { ChatRequest } from './provider.ts';

const KiB = 1024;
const hi: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

/** A chat endpoint that streams a 30 MiB completion without a content-length, honouring backpressure. */
let streaming: Server;
let streamingUrl: string;
let sent: Promise<{ bytes: number; finished: boolean }> | undefined;
const openai = new FakeOpenAiServer();
const anthropic = new FakeAnthropicServer({ apiKey: 'sk-ant-test-0123456789' });

beforeAll(async () => {
  streaming = createServer((_req, res) => {
    let bytes = 0;
    let finished = false;
    sent = new Promise((resolve) => res.once('close', () => resolve({ bytes, finished })));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"id":"x","model":"m","choices":[{"message":{"content":"');
    const chunk = Buffer.alloc(64 * KiB, 0x61);
    const pump = (): void => {
      while (bytes < 30 * KiB * KiB) {
        bytes += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      finished = true;
      res.end('"}}]}');
    };
    pump();
  });
  await new Promise<void>((resolve) => streaming.listen(0, '127.0.0.1', resolve));
  streamingUrl = `http://127.0.0.1:${(streaming.address() as AddressInfo).port}/v1`;
  await Promise.all([openai.start(), anthropic.start()]);
});
afterAll(async () => {
  streaming.closeAllConnections();
  await new Promise<void>((resolve) => streaming.close(() => resolve()));
  await Promise.all([openai.close(), anthropic.close()]);
});

async function refusal(call: Promise<unknown>): Promise<PermanentNodeError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PermanentNodeError);
  return error as PermanentNodeError;
}

describe('provider reply size limit', () => {
  it('stops reading a streamed chat reply at the limit', async () => {
    const provider = new OpenAiCompatibleProvider({
      name: 'local',
      baseUrl: streamingUrl,
      maxResponseBytes: 256 * KiB,
    });
    const error = await refusal(provider.chat(hi));
    expect(error).toMatchObject({
      code: 'provider_error',
      details: { provider: 'local', maxResponseBytes: 256 * KiB },
    });
    expect(error.message).toMatch(/provider "local" sent a reply larger than 262144 bytes/);
    const server = await sent;
    expect(server?.finished).toBe(false);
    expect(server?.bytes).toBeLessThan(15 * KiB * KiB);
  });

  it('refuses a declared length over the limit (OpenAI-compatible, Anthropic, embeddings)', async () => {
    const big = 'x'.repeat(300 * KiB);
    openai.queueCompletion({ text: big });
    const chat = new OpenAiCompatibleProvider({
      name: 'openai',
      baseUrl: openai.baseUrl,
      maxResponseBytes: 64 * KiB,
    });
    expect((await refusal(chat.chat(hi))).code).toBe('provider_error');

    anthropic.queueMessage({ text: big });
    const claude = new AnthropicProvider({
      name: 'claude',
      baseUrl: anthropic.url,
      apiKey: 'sk-ant-test-0123456789',
      maxResponseBytes: 64 * KiB,
    });
    expect((await refusal(claude.chat(hi))).message).toMatch(/provider "claude" sent a reply larger than/);

    // Embedding replies may be as large as their batch needs; past that they are refused too.
    openai.enqueue({
      status: 200,
      body: { data: [{ index: 0, embedding: [0.5, 0.5] }], pad: 'y'.repeat(20 * KiB * KiB) },
    });
    const embedder = new OpenAiCompatibleEmbedder({
      baseURL: openai.baseUrl,
      model: 'e',
      dimensions: 2,
      tracer: trace.getTracer('test'),
    });
    expect((await refusal(embedder.embed(['a']))).code).toBe('provider_error');
  });

  it('leaves replies under the limit alone', async () => {
    openai.queueCompletion({ text: 'short' });
    const chat = new OpenAiCompatibleProvider({
      name: 'openai',
      baseUrl: openai.baseUrl,
      maxResponseBytes: 64 * KiB,
    });
    expect((await chat.chat(hi)).message.text).toBe('short');
  });
});
