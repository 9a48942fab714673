import { PermanentNodeError, TransientNodeError } from '@flowtrace/workflow';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAiServer, fakeEmbedding } from '../testing/fake-openai-server.ts';
import type { EmbeddingCall } from './embedder.ts';
import { OpenAiCompatibleEmbedder } from './openai-compatible-embedder.ts';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('openai-compatible-embedder.test');
let server: FakeOpenAiServer;

function embedder(options: { batchSize?: number; dimensions?: number; requestDimensions?: boolean } = {}) {
  return new OpenAiCompatibleEmbedder({
    baseURL: server.baseUrl,
    apiKey: 'sk-test-embeddings',
    model: 'text-embedding-3-small',
    dimensions: options.dimensions ?? 16,
    tracer,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.requestDimensions === undefined ? {} : { requestDimensions: options.requestDimensions }),
  });
}

beforeAll(async () => {
  server = await new FakeOpenAiServer({ apiKey: 'sk-test-embeddings', embeddingDimensions: 16 }).start();
});

afterEach(() => {
  server.reset();
  exporter.reset();
});

afterAll(async () => {
  await server.close();
  await provider.shutdown();
});

describe('OpenAiCompatibleEmbedder', () => {
  it('batches inputs, keeps their order and sums usage, one span per request', async () => {
    const texts = Array.from({ length: 150 }, (_, i) => `text number ${i}`);
    const calls: EmbeddingCall[] = [];
    const result = await embedder({ batchSize: 64 }).embed(texts, { onCall: (c) => void calls.push(c) });

    const bodies = server.requests.map(
      (r) => r.body as { input: string[]; model: string; encoding_format: string },
    );
    expect(bodies.map((b) => b.input.length)).toEqual([64, 64, 22]);
    expect(bodies.every((b) => b.model === 'text-embedding-3-small' && b.encoding_format === 'float')).toBe(
      true,
    );
    expect(server.requests[0]?.headers.authorization).toBe('Bearer sk-test-embeddings');
    expect(result.vectors).toHaveLength(150);
    for (const i of [0, 63, 64, 149]) {
      const expected = fakeEmbedding(texts[i] as string, 16);
      result.vectors[i]?.forEach((v, j) => {
        expect(v).toBeCloseTo(expected[j] as number, 5);
      });
    }
    expect(result.inputTokens).toBe(calls.reduce((sum, c) => sum + c.inputTokens, 0));
    expect(calls.map((c) => c.inputCount)).toEqual([64, 64, 22]);

    await provider.forceFlush();
    const spans = exporter.getFinishedSpans().filter((s) => s.name === 'embeddings text-embedding-3-small');
    expect(spans).toHaveLength(3);
    expect(spans[0]?.kind).toBe(SpanKind.CLIENT);
    expect(spans[0]?.attributes).toMatchObject({
      'gen_ai.operation.name': 'embeddings',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'text-embedding-3-small',
      'gen_ai.response.model': 'text-embedding-3-small',
      'gen_ai.usage.input_tokens': calls[0]?.inputTokens,
      'gen_ai.embeddings.dimension.count': 16,
    });
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain('text number');
  });

  it('sends dimensions only when asked to', async () => {
    await embedder({ dimensions: 8, requestDimensions: true }).embed(['a']);
    expect((server.lastRequest().body as { dimensions?: number }).dimensions).toBe(8);
    await embedder().embed(['a']);
    expect((server.lastRequest().body as { dimensions?: number }).dimensions).toBeUndefined();
  });

  it('makes no request for no input', async () => {
    expect(await embedder().embed([])).toMatchObject({ vectors: [], inputTokens: 0 });
    expect(server.requests).toHaveLength(0);
  });

  it('fails permanently when the model returns another dimension', async () => {
    const error = await embedder({ dimensions: 32 })
      .embed(['a'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect((error as Error).message).toMatch(/returned 16-dimensional vectors.*configured for 32/);
  });

  it('maps 429 to a transient error with Retry-After and 400 to a permanent one, with an ERROR span', async () => {
    server.failNext(429, { retryAfter: 3 });
    const throttled = await embedder()
      .embed(['a'])
      .catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(TransientNodeError);
    expect((throttled as TransientNodeError).retryAfterMs).toBe(3000);

    server.failNext(400, { message: 'bad input' });
    const rejected = await embedder()
      .embed(['a'])
      .catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(PermanentNodeError);
    expect((rejected as PermanentNodeError).code).toBe('provider_rejected');

    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.status.code)).toEqual([2, 2]);
    expect(spans[0]?.attributes['error.type']).toBe('provider_error');
  });

  it("stops at the caller's abort", async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled');
    // Aborted once the request is in flight; the server never answers, so only the abort can end the call.
    server.enqueue(() => {
      controller.abort(reason);
      return new Promise<never>(() => {});
    });
    await expect(embedder().embed(['a'], { signal: controller.signal })).rejects.toBe(reason);
  });
});
