import { GEN_AI_PROVIDER_NAME_VALUE_OPENAI } from '@flowtrace/telemetry/semconv';
import type { Tracer } from '@opentelemetry/api';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { DEFAULT_MAX_REPLY_BYTES, limitedFetch, replyTooLarge } from '../llm/limited-fetch.ts';
import { mapProviderFailure, rethrowIfAbortedOrNodeError } from '../llm/provider-errors.ts';
import { openAiEmbeddingsSchema, parseProviderReply, unparseableReply } from '../llm/provider-replies.ts';
import {
  batches,
  type Embedder,
  type EmbedOptions,
  type EmbedResult,
  tracedEmbeddingCall,
} from './embedder.ts';

export interface OpenAiCompatibleEmbedderOptions {
  /** OpenAI-compatible `/v1` URL (OpenAI, Azure, Ollama, vLLM, LiteLLM). Default: OpenAI's API. */
  baseURL?: string;
  /** Servers that need no key may omit it. */
  apiKey?: string;
  model: string;
  /** Size of the vectors the model returns (1536 for text-embedding-3-small); checked on every response. */
  dimensions: number;
  /**
   * Send `dimensions` in the request, for models that can shorten their output (OpenAI's
   * text-embedding-3-*). Other servers may reject the field. Default false.
   */
  requestDimensions?: boolean;
  /** Texts per request; default 64. */
  batchSize?: number;
  /** Per-request timeout; default 60 s. */
  timeoutMs?: number;
  /** `gen_ai.provider.name`; default `openai`. */
  providerName?: string;
  tracer: Tracer;
}

/**
 * Embeddings through the official `openai` SDK (`embeddings.create`), in batches, one CLIENT span per
 * request. SDK retries are off: the engine owns retries. Errors map like the chat provider's: 4xx other
 * than 408/409/429 permanent (`provider_rejected`), the rest transient (`provider_error`) with `Retry-After`.
 */
export class OpenAiCompatibleEmbedder implements Embedder {
  readonly provider: string;
  readonly model: string;
  readonly dimensions: number;
  readonly #client: OpenAI;
  readonly #batchSize: number;
  readonly #requestDimensions: boolean;
  readonly #tracer: Tracer;
  readonly #secrets: string[];

  constructor(options: OpenAiCompatibleEmbedderOptions) {
    this.provider = options.providerName ?? GEN_AI_PROVIDER_NAME_VALUE_OPENAI;
    this.model = options.model;
    this.dimensions = options.dimensions;
    this.#batchSize = options.batchSize ?? 64;
    if (!Number.isInteger(this.#batchSize) || this.#batchSize < 1 || this.#batchSize > 2048) {
      throw new Error(`embedding batchSize must be an integer from 1 to 2048 (got ${this.#batchSize})`);
    }
    this.#requestDimensions = options.requestDimensions ?? false;
    this.#tracer = options.tracer;
    this.#secrets = options.apiKey ? [options.apiKey] : [];
    this.#client = new OpenAI({
      baseURL: options.baseURL ?? 'https://api.openai.com/v1',
      // Explicit settings only: nothing is read from OPENAI_* environment variables.
      apiKey: options.apiKey ?? 'no-key-configured',
      organization: null,
      project: null,
      maxRetries: 0,
      // A batch's vectors as JSON numbers (~24 bytes each), with room to spare.
      fetch: limitedFetch(
        Math.max(DEFAULT_MAX_REPLY_BYTES, this.#batchSize * this.dimensions * 32 + 1024 * 1024),
      ),
      timeout: options.timeoutMs ?? 60_000,
      logLevel: 'off',
    });
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<EmbedResult> {
    const vectors: number[][] = [];
    let inputTokens = 0;
    let model = this.model;
    for (const batch of batches(texts, this.#batchSize)) {
      options.signal?.throwIfAborted();
      const result = await tracedEmbeddingCall(this.#tracer, this, batch, options, () =>
        this.#request(batch, options.signal),
      );
      vectors.push(...result.vectors);
      inputTokens += result.inputTokens;
      model = result.responseModel;
    }
    return { vectors, model, inputTokens };
  }

  async #request(
    input: string[],
    signal: AbortSignal | undefined,
  ): Promise<{ vectors: number[][]; responseModel: string; inputTokens: number }> {
    let raw: unknown;
    try {
      raw = await this.#client.embeddings.create(
        {
          model: this.model,
          input,
          encoding_format: 'float',
          ...(this.#requestDimensions ? { dimensions: this.dimensions } : {}),
        },
        { signal: signal ?? null },
      );
    } catch (error) {
      rethrowIfAbortedOrNodeError(error, signal);
      throw this.#mapError(error);
    }
    const response = parseProviderReply(openAiEmbeddingsSchema, raw, {
      provider: this.provider,
      what: 'embeddings response',
    });
    const data = [...response.data].sort((a, b) => a.index - b.index);
    if (data.length !== input.length) {
      throw mapProviderFailure(this.provider, {
        status: 502,
        message: `asked for ${input.length} embeddings, got ${data.length}`,
      });
    }
    const vectors = data.map((d) => d.embedding);
    const wrong = vectors.find((v) => v.length !== this.dimensions);
    if (wrong !== undefined) {
      throw mapProviderFailure(this.provider, {
        // A configuration mismatch, not a transient failure: report it as a rejection.
        status: 422,
        message: `model "${this.model}" returned ${wrong.length}-dimensional vectors; the embedder is configured for ${this.dimensions}`,
      });
    }
    return {
      vectors,
      responseModel: response.model || this.model,
      inputTokens: response.usage?.prompt_tokens ?? 0,
    };
  }

  #mapError(error: unknown): Error {
    const tooLarge = replyTooLarge(this.provider, error);
    if (tooLarge !== null) return tooLarge;
    if (error instanceof SyntaxError) return unparseableReply(this.provider, 'embeddings response', error);
    if (error instanceof APIConnectionTimeoutError) {
      return mapProviderFailure(
        this.provider,
        { timeout: true, message: error.message, cause: error },
        this.#secrets,
      );
    }
    if (error instanceof APIConnectionError) {
      return mapProviderFailure(
        this.provider,
        { connection: true, message: error.message, cause: error },
        this.#secrets,
      );
    }
    if (error instanceof APIError && typeof error.status === 'number') {
      return mapProviderFailure(
        this.provider,
        {
          status: error.status,
          headers: error.headers,
          providerErrorType: error.type ?? null,
          requestId: error.requestID,
          message: error.message,
          cause: error,
        },
        this.#secrets,
      );
    }
    const message = error instanceof Error ? error.message : String(error);
    return mapProviderFailure(this.provider, { connection: true, message, cause: error }, this.#secrets);
  }
}
