/**
 * Which embedder new collections use (`FLOWTRACE_EMBEDDINGS_*`, see `config/executors-env.ts`): `offline`
 * (local, deterministic, no network) or `openai` (any OpenAI-compatible `/v1/embeddings`: OpenAI, Azure,
 * Ollama, vLLM, LiteLLM).
 */
export type EmbeddingsConfig =
  | { provider: 'offline'; dimensions: number }
  | {
      provider: 'openai';
      model: string;
      dimensions: number;
      baseUrl?: string | undefined;
      apiKey?: string | undefined;
      /** Texts per embeddings request. */
      batchSize: number;
    };
