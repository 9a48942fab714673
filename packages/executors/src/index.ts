export { type AgentExecutorDeps, type AgentNodeOutput, createAgentExecutor } from './agent/agent-executor.ts';
export { createDefaultToolRunners } from './agent/default-tool-runners.ts';
export type { WorkflowPromptResolver } from './agent/llm-tool-runner.ts';
export type { AgentToolRunner, AgentToolRunners } from './agent/tool-runner.ts';
export {
  type ExecutorsConfig,
  type IngestionConfig,
  loadExecutorsConfig,
} from './config/executors-env.ts';
export { type ConnectorExecutorDeps, createConnectorExecutor } from './connector/connector-executor.ts';
export { type CredentialConfig, CredentialStore, type CredentialsConfig } from './connector/credentials.ts';
export {
  GuardedHttpClient,
  type GuardedHttpClientOptions,
  type GuardedRequest,
  type GuardedResponse,
} from './connector/guarded-http-client.ts';
export { SsrfPolicy, type SsrfPolicyOptions } from './connector/ssrf-policy.ts';
export { createEmbedders, createExecutorSuite, type ExecutorSuite } from './executor-suite.ts';
export type { ContentCaptureOptions } from './llm/content-capture.ts';
export { createLlmExecutor, type LlmExecutorDeps, type LlmNodeOutput } from './llm/llm-executor.ts';
export { createPricingTable, PRICING_VERSION, type PricingTable } from './llm/pricing.ts';
export type { ChatMessage, ChatProvider, ChatRequest, ChatResponse } from './llm/provider.ts';
export type { ProvidersConfig } from './llm/provider-config.ts';
export { createProviderRegistry, type ProviderRegistry } from './llm/provider-registry.ts';
export { SimulatedProvider } from './llm/simulated-provider.ts';
export { tracedChat } from './llm/traced-chat.ts';
export type { IngestDocument } from './rag/add-documents.ts';
export type { SearchHit } from './rag/chunk-search.ts';
export { type Embedder, EmbedderRegistry } from './rag/embedder.ts';
export type { EmbeddingsConfig } from './rag/embedders-config.ts';
export {
  type IngestDocumentsDeps,
  type IngestDocumentsRequest,
  type IngestDocumentsResult,
  ingestDocuments,
} from './rag/ingest-documents.ts';
export { OFFLINE_EMBEDDER_PROVIDER, OfflineEmbedder } from './rag/offline-embedder.ts';
export { OpenAiCompatibleEmbedder } from './rag/openai-compatible-embedder.ts';
export { createRagExecutor, type RagExecutorDeps } from './rag/rag-executor.ts';
export { VectorStore } from './rag/vector-store.ts';
