/**
 * Every environment variable the executors' parsers read (`loadExecutorsConfig`, and
 * `parseEmbeddingsFromEnv`, which the API also calls for RAG ingestion). Deployment files are checked
 * against this list, and a test checks that the parsers read no variable missing from it.
 */
export const EXECUTOR_ENV_KEYS = [
  // Providers (llm/provider-config.ts)
  'FLOWTRACE_PROVIDERS',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_BASE_URL',
  // Prices (llm/pricing.ts)
  'FLOWTRACE_PRICING',
  // Content capture (llm/content-capture.ts)
  'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT',
  'FLOWTRACE_CAPTURE_MAX_LENGTH',
  'FLOWTRACE_REDACT_PATTERNS',
  // Connectors (connector/ssrf-policy.ts, connector/connector-limits.ts, connector/credentials.ts)
  'FLOWTRACE_CONNECTOR_ALLOWED_HOSTS',
  'FLOWTRACE_CONNECTOR_ALLOWED_CIDRS',
  'FLOWTRACE_CONNECTOR_MAX_RESPONSE_BYTES',
  'FLOWTRACE_CREDENTIALS',
  // Embeddings (rag/embedders-config.ts)
  'FLOWTRACE_EMBEDDINGS_PROVIDER',
  'FLOWTRACE_EMBEDDINGS_MODEL',
  'FLOWTRACE_EMBEDDINGS_DIMENSIONS',
  'FLOWTRACE_EMBEDDINGS_BASE_URL',
  'FLOWTRACE_EMBEDDINGS_API_KEY',
  'FLOWTRACE_EMBEDDINGS_BATCH_SIZE',
] as const;

export type ExecutorEnvKey = (typeof EXECUTOR_ENV_KEYS)[number];
