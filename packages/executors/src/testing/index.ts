export { type PgliteVectorServer, startPgliteVectorServer } from '../rag/pglite-vector-server.ts';
export {
  anthropicError,
  type FakeAnthropicErrorOptions,
  type FakeAnthropicMessage,
  FakeAnthropicServer,
  type FakeAnthropicServerOptions,
} from './fake-anthropic-server.ts';
export {
  approxTokens,
  type FakeHandler,
  type FakeHttpResponse,
  FakeJsonServer,
  type RecordedRequest,
} from './fake-json-server.ts';
export {
  type FakeChatCompletion,
  type FakeOpenAiErrorOptions,
  FakeOpenAiServer,
  type FakeOpenAiServerOptions,
  fakeEmbedding,
  openAiError,
} from './fake-openai-server.ts';
export { createInMemoryTelemetry, type InMemoryTelemetry } from './in-memory-telemetry.ts';
export { silentLogger } from './silent-logger.ts';
export {
  type RecordedRequest as TargetRequest,
  type Responder,
  type ScriptedResponse,
  startTargetServer,
  type TargetServer,
} from './target-server.ts';
