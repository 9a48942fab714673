import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAiServer, fakeEmbedding } from './fake-openai-server.ts';

describe('FakeOpenAiServer embeddings', () => {
  const server = new FakeOpenAiServer({ embeddingDimensions: 8 });
  let client: OpenAI;

  beforeAll(async () => {
    await server.start();
    client = new OpenAI({ baseURL: server.baseUrl, apiKey: 'sk-test', maxRetries: 0 });
  });
  afterAll(() => server.close());

  it('returns deterministic unit vectors, decoded by the SDK from its default base64 encoding', async () => {
    const response = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['alpha', 'beta'],
    });
    expect(server.lastRequest().body).toMatchObject({ encoding_format: 'base64' });
    expect(response.data).toHaveLength(2);
    const first = Array.from(response.data[0]?.embedding ?? []);
    expect(first).toHaveLength(8);
    expect(Math.hypot(...first)).toBeCloseTo(1, 5);
    const expected = fakeEmbedding('alpha', 8);
    for (const [i, value] of first.entries()) expect(value).toBeCloseTo(expected[i] ?? Number.NaN, 5);
    expect(response.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('honours float encoding and the requested dimensions', async () => {
    const response = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'alpha',
      dimensions: 4,
      encoding_format: 'float',
    });
    expect(response.data[0]?.embedding).toEqual(fakeEmbedding('alpha', 4));
  });

  it('answers errors in OpenAI format and records every request', async () => {
    server.failNext(429, { retryAfter: 1, message: 'slow down' });
    const error = await client.embeddings.create({ model: 'm', input: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('1');
    expect(server.lastRequest()).toMatchObject({ method: 'POST', path: '/v1/embeddings' });
    expect(server.lastRequest().headers.authorization).toBe('Bearer sk-test');
  });
});
