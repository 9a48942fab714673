import type { Sql } from '@flowtrace/db';
import type { Logger, NodeExecutor } from '@flowtrace/workflow';
import type { Meter, Tracer } from '@opentelemetry/api';
import { createAgentExecutor } from './agent/agent-executor.ts';
import { createDefaultToolRunners } from './agent/default-tool-runners.ts';
import type { WorkflowPromptResolver } from './agent/llm-tool-runner.ts';
import type { ExecutorsConfig } from './config/executors-env.ts';
import { createConnectorExecutor } from './connector/connector-executor.ts';
import { GuardedHttpClient } from './connector/guarded-http-client.ts';
import { createLlmExecutor } from './llm/llm-executor.ts';
import { createPricingTable, type PricingTable } from './llm/pricing.ts';
import { createProviderRegistry, type ProviderRegistry } from './llm/provider-registry.ts';
import { type Embedder, EmbedderRegistry } from './rag/embedder.ts';
import type { EmbeddingsConfig } from './rag/embedders-config.ts';
import { OfflineEmbedder } from './rag/offline-embedder.ts';
import { OpenAiCompatibleEmbedder } from './rag/openai-compatible-embedder.ts';
import { createRagExecutor } from './rag/rag-executor.ts';
import { VectorStore } from './rag/vector-store.ts';
import { withRedaction } from './redaction/redacted-executor.ts';
import { createRedactor, type Redactor } from './redaction/redactor.ts';

/** Builds the embedders a process knows; the configured one is the default for new collections. */
export function createEmbedders(config: EmbeddingsConfig, deps: { tracer: Tracer }): EmbedderRegistry {
  const offline = new OfflineEmbedder({
    tracer: deps.tracer,
    ...(config.provider === 'offline' ? { dimensions: config.dimensions } : {}),
  });
  if (config.provider === 'offline') return new EmbedderRegistry([offline]);
  const configured: Embedder = new OpenAiCompatibleEmbedder({
    model: config.model,
    dimensions: config.dimensions,
    batchSize: config.batchSize,
    tracer: deps.tracer,
    ...(config.baseUrl ? { baseURL: config.baseUrl } : {}),
    ...(config.apiKey ? { apiKey: config.apiKey } : {}),
  });
  // Offline collections stay queryable after switching to a model embedder.
  return new EmbedderRegistry([configured, offline], configured);
}

export interface ExecutorSuite {
  readonly executors: NodeExecutor[];
  readonly providers: ProviderRegistry;
  readonly pricing: PricingTable;
  readonly embedders: EmbedderRegistry;
  readonly vectorStore: VectorStore | undefined;
  readonly http: GuardedHttpClient;
  /** The redactor every executor's output, error and agent steps pass through. */
  readonly redact: Redactor;
  close(): Promise<void>;
}

/**
 * The executors of all four node types, wired from configuration. `vectorSql` is a pool on the vector
 * database; without it the `rag` executor is left out (its nodes then fail with executor_not_found).
 * Every executor is wrapped in `withRedaction`: outputs, errors and agent steps are redacted of every
 * configured secret (credential header values, provider and embedding keys), of `FLOWTRACE_REDACT_PATTERNS`
 * matches, and of values under credential header names, by one redactor.
 */
export function createExecutorSuite(
  config: ExecutorsConfig,
  deps: {
    tracer: Tracer;
    meter?: Meter;
    logger: Logger;
    vectorSql?: Sql;
    /** Resolves agent `llm` tools that run another workflow's prompt (the worker reads its workflows). */
    resolvePrompt?: WorkflowPromptResolver;
    /**
     * The process runs no HTTP client instrumentation (the SDK is off): the connector, agent HTTP tools and
     * LLM providers inject the W3C trace-context headers themselves, so outgoing requests still carry them.
     */
    propagateTraceContext?: boolean;
  },
): ExecutorSuite {
  const providers = createProviderRegistry(config.providers, {
    logger: deps.logger,
    propagateTraceContext: deps.propagateTraceContext,
  });
  const pricing = createPricingTable({
    ...(config.pricing ? { overrides: config.pricing } : {}),
    logger: deps.logger,
  });
  const http = new GuardedHttpClient({
    ...config.ssrf,
    maxResponseBytes: config.connector.maxResponseBytes,
    ...(deps.propagateTraceContext ? { propagateTraceContext: true } : {}),
  });
  const embedders = createEmbedders(config.embeddings, { tracer: deps.tracer });
  const vectorStore = deps.vectorSql
    ? new VectorStore({ sql: deps.vectorSql, tracer: deps.tracer })
    : undefined;
  const llm = { providers, tracer: deps.tracer, meter: deps.meter, capture: config.capture, pricing };
  const tools = createDefaultToolRunners({
    http: { client: http, credentials: config.credentials },
    ...(vectorStore ? { rag: { store: vectorStore, embedders, pricing } } : {}),
    llm: { ...llm, resolvePrompt: deps.resolvePrompt },
  });
  const redact = createRedactor({
    secrets: [
      ...config.credentials.secretValues(),
      ...providers.secrets(),
      ...(config.embeddings.provider === 'openai' && config.embeddings.apiKey
        ? [config.embeddings.apiKey]
        : []),
      ...(config.capture.secrets ?? []),
    ],
    patterns: config.capture.redact,
    headerNames: config.credentials.headerNames(),
  });
  const executors = (
    [
      createLlmExecutor({ ...llm, logger: deps.logger }),
      createAgentExecutor({ ...llm, tools, logger: deps.logger }),
      createConnectorExecutor({ http, credentials: config.credentials }),
      ...(vectorStore ? [createRagExecutor({ store: vectorStore, embedders, pricing })] : []),
    ] as unknown as NodeExecutor[]
  ).map((executor) => withRedaction(executor, redact));
  return {
    executors,
    providers,
    pricing,
    embedders,
    vectorStore,
    http,
    redact,
    close: () => http.close(),
  };
}
