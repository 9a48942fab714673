import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { hashEmbedding, OfflineEmbedder } from './offline-embedder.ts';

const cosine = (a: number[], b: number[]) => a.reduce((sum, v, i) => sum + v * (b[i] ?? 0), 0);

describe('OfflineEmbedder', () => {
  it('is deterministic and L2-normalised', () => {
    const a = hashEmbedding('Invoices are sent monthly.', 256).vector;
    const b = hashEmbedding('Invoices are sent monthly.', 256).vector;
    expect(a).toEqual(b);
    expect(a).toHaveLength(256);
    expect(Math.hypot(...a)).toBeCloseTo(1, 10);
  });

  it('puts texts that share words closer than unrelated texts', () => {
    const query = hashEmbedding('when are invoices sent', 256).vector;
    const billing = hashEmbedding('Invoices are sent on the first business day of each month.', 256).vector;
    const leave = hashEmbedding('Employees accrue two vacation days per month.', 256).vector;
    expect(cosine(query, billing)).toBeGreaterThan(cosine(query, leave));
    expect(cosine(query, billing)).toBeGreaterThan(0.3);
  });

  it('ignores case, accents and plural s', () => {
    const a = hashEmbedding('CAFÉ Invoices', 128).vector;
    const b = hashEmbedding('cafe invoice', 128).vector;
    expect(cosine(a, b)).toBeCloseTo(1, 10);
  });

  it('never yields a zero vector', () => {
    for (const text of ['the and of', '!!! ???', '']) {
      expect(Math.hypot(...hashEmbedding(text, 64).vector)).toBeCloseTo(1, 10);
    }
  });

  it('traces one CLIENT span per call with usage', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const embedder = new OfflineEmbedder({ tracer: provider.getTracer('t'), dimensions: 32 });
    const calls: unknown[] = [];
    const result = await embedder.embed(['one two', 'three'], { onCall: (c) => void calls.push(c) });
    expect(result.vectors).toHaveLength(2);
    expect(result.inputTokens).toBe(3);
    await provider.forceFlush();
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('embeddings offline-hashing-32');
    expect(span?.kind).toBe(SpanKind.CLIENT);
    expect(span?.attributes).toMatchObject({
      'gen_ai.operation.name': 'embeddings',
      'gen_ai.provider.name': 'flowtrace.offline',
      'gen_ai.request.model': 'offline-hashing-32',
      'gen_ai.usage.input_tokens': 3,
      'gen_ai.embeddings.dimension.count': 32,
    });
    expect(calls).toEqual([
      expect.objectContaining({ provider: 'flowtrace.offline', inputTokens: 3, inputCount: 2 }),
    ]);
    await provider.shutdown();
  });

  it('validates dimensions', () => {
    expect(() => new OfflineEmbedder({ tracer: new TracerProvider().getTracer('t'), dimensions: 4 })).toThrow(
      /dimensions/,
    );
  });
});
