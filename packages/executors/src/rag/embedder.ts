import { FlowtraceAttributes, withSpan } from '@flowtrace/telemetry';
import {
  ATTR_GEN_AI_EMBEDDINGS_DIMENSION_COUNT,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS,
} from '@flowtrace/telemetry/semconv';
import { PermanentNodeError } from '@flowtrace/workflow';
import { type Attributes, SpanKind, type Tracer } from '@opentelemetry/api';

/** One request to an embedding model, reported so that callers can write a cost row while its span is active. */
export interface EmbeddingCall {
  provider: string;
  requestModel: string;
  responseModel: string;
  inputTokens: number;
  inputCount: number;
  latencyMs: number;
}

export interface EmbedOptions {
  signal?: AbortSignal | undefined;
  /**
   * Called before each model request with its texts; rejecting stops the request before it is made (a
   * budget). A request it let through ends in `onCall` or, without an answer, in `onCallFailed`.
   */
  beforeCall?: ((texts: readonly string[]) => Promise<void>) | undefined;
  /** Called once per answered model request, inside that request's `embeddings` span; awaited. */
  onCall?: ((call: EmbeddingCall) => void | Promise<void>) | undefined;
  /** A request got no answer: `aborted` when the signal cut it off (it may still have been billed). */
  onCallFailed?: ((aborted: boolean) => Promise<void>) | undefined;
}

export interface EmbedResult {
  /** One vector per input text, in input order. */
  vectors: number[][];
  model: string;
  inputTokens: number;
}

/** Turns texts into vectors of a fixed dimension. */
export interface Embedder {
  /** `gen_ai.provider.name`, also stored on the collection. */
  readonly provider: string;
  readonly model: string;
  readonly dimensions: number;
  embed(texts: readonly string[], options?: EmbedOptions): Promise<EmbedResult>;
}

/**
 * Runs one embeddings request as a GenAI CLIENT span `embeddings <model>` (operation, provider, request
 * and response model, input token usage, dimension count, input count; never the texts).
 */
export async function tracedEmbeddingCall(
  tracer: Tracer,
  embedder: Pick<Embedder, 'provider' | 'model' | 'dimensions'>,
  texts: readonly string[],
  options: EmbedOptions,
  call: () => Promise<{ vectors: number[][]; responseModel: string; inputTokens: number }>,
): Promise<{ vectors: number[][]; responseModel: string; inputTokens: number }> {
  const inputCount = texts.length;
  await options.beforeCall?.(texts);
  const attributes: Attributes = {
    [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS,
    [ATTR_GEN_AI_PROVIDER_NAME]: embedder.provider,
    [ATTR_GEN_AI_REQUEST_MODEL]: embedder.model,
    [ATTR_GEN_AI_EMBEDDINGS_DIMENSION_COUNT]: embedder.dimensions,
    [FlowtraceAttributes.EMBEDDINGS_INPUT_COUNT]: inputCount,
  };
  return withSpan(
    tracer,
    `embeddings ${embedder.model}`,
    { kind: SpanKind.CLIENT, attributes },
    async (span) => {
      const started = performance.now();
      let result: Awaited<ReturnType<typeof call>>;
      try {
        result = await call();
      } catch (error) {
        await options.onCallFailed?.(options.signal?.aborted === true);
        throw error;
      }
      span.setAttributes({
        [ATTR_GEN_AI_RESPONSE_MODEL]: result.responseModel,
        [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: result.inputTokens,
      });
      await options.onCall?.({
        provider: embedder.provider,
        requestModel: embedder.model,
        responseModel: result.responseModel,
        inputTokens: result.inputTokens,
        inputCount,
        latencyMs: Math.round(performance.now() - started),
      });
      return result;
    },
  );
}

/**
 * The embedders a worker or the API has, by provider and model. A collection records the embedder that
 * built it; queries must use the same one.
 */
export class EmbedderRegistry {
  readonly #embedders = new Map<string, Embedder>();
  readonly #default: Embedder;

  /** The first embedder is the default for new collections unless `defaultEmbedder` names another. */
  constructor(embedders: readonly Embedder[], defaultEmbedder?: Embedder) {
    const first = defaultEmbedder ?? embedders[0];
    if (first === undefined) throw new Error('EmbedderRegistry needs at least one embedder');
    for (const e of [...embedders, first]) this.#embedders.set(key(e.provider, e.model), e);
    this.#default = first;
  }

  /** The embedder new collections are created with. */
  get default(): Embedder {
    return this.#default;
  }

  get(provider: string, model: string): Embedder | undefined {
    return this.#embedders.get(key(provider, model));
  }

  /** The collection's embedder; throws `invalid_input` naming it when this process lacks it. */
  require(provider: string, model: string, collection: string): Embedder {
    const embedder = this.get(provider, model);
    if (embedder === undefined) {
      throw new PermanentNodeError(
        'invalid_input',
        `collection "${collection}" was embedded with ${provider}/${model}, which is not configured here (configured: ${[...this.#embedders.keys()].join(', ')})`,
        { details: { collection, provider, model } },
      );
    }
    return embedder;
  }
}

function key(provider: string, model: string): string {
  return `${provider}/${model}`;
}

/** Splits `items` into consecutive batches of at most `size`. */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
