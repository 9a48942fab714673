import { GEN_AI_PROVIDER_NAME_VALUE_FLOWTRACE_OFFLINE } from '@flowtrace/telemetry/semconv';
import type { Tracer } from '@opentelemetry/api';
import { type Embedder, type EmbedOptions, type EmbedResult, tracedEmbeddingCall } from './embedder.ts';

/** Ours, not the spec's: a local, deterministic embedder, named so that nobody mistakes it for a model. */
export const OFFLINE_EMBEDDER_PROVIDER = GEN_AI_PROVIDER_NAME_VALUE_FLOWTRACE_OFFLINE;

export interface OfflineEmbedderOptions {
  /** Vector size; default 256. */
  dimensions?: number;
  tracer: Tracer;
}

/** Common English function words: they carry no topic, so they would only add noise to the hash buckets. */
const STOPWORDS = new Set(
  (
    'a an and are as at be been but by can did do does for from had has have how i if in into is it its ' +
    'me my no not of on or our so than that the their them then there these they this those to was we ' +
    'were what when where which who why will with would you your'
  ).split(' '),
);

/**
 * An OFFLINE embedder for demos, tests and load tests: no network, no model, deterministic. It is feature
 * hashing (the "hashing trick") of normalised word unigrams and bigrams into `dimensions` buckets with a
 * hash-derived sign, sub-linear term frequency, and L2 normalisation. Texts that share words get a high
 * cosine similarity, which is enough for keyword-like retrieval; it captures no meaning (synonyms,
 * paraphrases) the way a real embedding model does.
 */
export class OfflineEmbedder implements Embedder {
  readonly provider = OFFLINE_EMBEDDER_PROVIDER;
  readonly model: string;
  readonly dimensions: number;
  readonly #tracer: Tracer;

  constructor(options: OfflineEmbedderOptions) {
    this.dimensions = options.dimensions ?? 256;
    if (!Number.isInteger(this.dimensions) || this.dimensions < 8 || this.dimensions > 2000) {
      throw new Error(
        `offline embedder dimensions must be an integer from 8 to 2000 (got ${this.dimensions})`,
      );
    }
    this.model = `offline-hashing-${this.dimensions}`;
    this.#tracer = options.tracer;
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<EmbedResult> {
    options.signal?.throwIfAborted();
    if (texts.length === 0) return { vectors: [], model: this.model, inputTokens: 0 };
    const result = await tracedEmbeddingCall(this.#tracer, this, texts, options, async () => {
      let inputTokens = 0;
      const vectors = texts.map((text) => {
        const { vector, tokenCount } = hashEmbedding(text, this.dimensions);
        inputTokens += tokenCount;
        return vector;
      });
      return { vectors, responseModel: this.model, inputTokens };
    });
    return { vectors: result.vectors, model: result.responseModel, inputTokens: result.inputTokens };
  }
}

/** The offline embedding of one text, and the number of word tokens it had. */
export function hashEmbedding(text: string, dimensions: number): { vector: number[]; tokenCount: number } {
  const words = tokenize(text);
  const content = words.filter((w) => !STOPWORDS.has(w)).map(stem);
  const terms = content.length > 0 ? content : words;
  const features = new Map<string, number>();
  const add = (feature: string, weight: number): void => {
    features.set(feature, (features.get(feature) ?? 0) + weight);
  };
  for (let i = 0; i < terms.length; i++) {
    const term = terms[i] as string;
    add(`u:${term}`, 1);
    const next = terms[i + 1];
    if (next !== undefined) add(`b:${term} ${next}`, 0.5);
  }
  // Text without any word (punctuation, symbols) still gets a non-zero vector: cosine is undefined for zero.
  if (features.size === 0) for (const ch of text.trim() || ' ') add(`c:${ch}`, 1);

  const vector = new Array<number>(dimensions).fill(0);
  for (const [feature, count] of features) {
    const h = fnv1a(feature);
    const bucket = h % dimensions;
    const sign = fnv1a(`${feature}#sign`) & 1 ? 1 : -1;
    // Sub-linear term frequency: a word repeated ten times is not ten times as relevant.
    vector[bucket] = (vector[bucket] ?? 0) + sign * (1 + Math.log(count));
  }
  const norm = Math.hypot(...vector);
  // Buckets can cancel out exactly; fall back to a fixed unit vector rather than a zero vector.
  if (norm === 0) {
    vector[0] = 1;
    return { vector, tokenCount: words.length };
  }
  return { vector: vector.map((v) => v / norm), tokenCount: words.length };
}

/** Lower-cased words of letters and digits, accents stripped. */
function tokenize(text: string): string[] {
  return (
    text
      .normalize('NFKD')
      .replace(/\p{M}+/gu, '')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  );
}

/** A deliberately tiny stemmer: plural `s` only, so that "invoice" and "invoices" meet. */
function stem(word: string): string {
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

/** 32-bit FNV-1a over the UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
