import { z } from 'zod';

/**
 * Which embedder new collections use, from the environment:
 * `FLOWTRACE_EMBEDDINGS_PROVIDER` `offline` (default: local, deterministic, no network) or `openai`
 * (any OpenAI-compatible `/v1/embeddings`: OpenAI, Azure, Ollama, vLLM, LiteLLM), with
 * `FLOWTRACE_EMBEDDINGS_MODEL`, `FLOWTRACE_EMBEDDINGS_DIMENSIONS`, and `FLOWTRACE_EMBEDDINGS_BASE_URL` /
 * `FLOWTRACE_EMBEDDINGS_API_KEY` (defaulting to `OPENAI_BASE_URL` / `OPENAI_API_KEY`).
 */
export const embeddingsConfigSchema = z.discriminatedUnion('provider', [
  z.object({
    provider: z.literal('offline'),
    dimensions: z.coerce.number().int().min(8).max(2000).default(256),
  }),
  z.object({
    provider: z.literal('openai'),
    model: z.string().min(1).default('text-embedding-3-small'),
    dimensions: z.coerce.number().int().min(1).max(2000).default(1536),
    baseUrl: z.url().optional(),
    apiKey: z.string().min(1).optional(),
    batchSize: z.coerce.number().int().min(1).max(2048).default(64),
  }),
]);

export type EmbeddingsConfig = z.infer<typeof embeddingsConfigSchema>;

export function parseEmbeddingsFromEnv(env: Readonly<Record<string, string | undefined>>): EmbeddingsConfig {
  const provider = env.FLOWTRACE_EMBEDDINGS_PROVIDER?.trim() || 'offline';
  const raw =
    provider === 'openai'
      ? {
          provider,
          model: env.FLOWTRACE_EMBEDDINGS_MODEL,
          dimensions: env.FLOWTRACE_EMBEDDINGS_DIMENSIONS,
          baseUrl: env.FLOWTRACE_EMBEDDINGS_BASE_URL || env.OPENAI_BASE_URL,
          apiKey: env.FLOWTRACE_EMBEDDINGS_API_KEY || env.OPENAI_API_KEY,
          batchSize: env.FLOWTRACE_EMBEDDINGS_BATCH_SIZE,
        }
      : { provider, dimensions: env.FLOWTRACE_EMBEDDINGS_DIMENSIONS };
  const parsed = embeddingsConfigSchema.safeParse(
    Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== '')),
  );
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.join('.') || 'provider'}: ${i.message}`)
      .join('; ');
    throw new Error(`invalid FLOWTRACE_EMBEDDINGS_* configuration: ${issues}`);
  }
  return parsed.data;
}
