import { randomUUID } from 'node:crypto';
import { type JsonValue, NODE_CONFIG_SCHEMAS } from '@flowtrace/workflow';
import { SpanStatusCode } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CredentialStore } from '../connector/credentials.ts';
import { GuardedHttpClient } from '../connector/guarded-http-client.ts';
import type { ContentCaptureOptions } from '../llm/content-capture.ts';
import { createPricingTable } from '../llm/pricing.ts';
import { createProviderRegistry } from '../llm/provider-registry.ts';
import { EmbedderRegistry } from '../rag/embedder.ts';
import { ingestDocuments } from '../rag/ingest-documents.ts';
import { OfflineEmbedder } from '../rag/offline-embedder.ts';
import { type PgliteVectorServer, startPgliteVectorServer } from '../rag/pglite-vector-server.ts';
import { HANDBOOK } from '../rag/test-fixtures.ts';
import { VectorStore } from '../rag/vector-store.ts';
import { executeAgentNode } from '../testing/execute-agent-node.ts';
import { createInMemoryTelemetry, type InMemoryTelemetry } from '../testing/in-memory-telemetry.ts';
import { silentLogger } from '../testing/silent-logger.ts';
import { startTargetServer, type TargetServer } from '../testing/target-server.ts';
import { createAgentExecutor } from './agent-executor.ts';
import { createDefaultToolRunners, type DefaultToolRunnersDeps } from './default-tool-runners.ts';

const tenant = randomUUID();
const capture: ContentCaptureOptions = { enabled: false, maxLength: 4096, redact: [] };
const pricing = createPricingTable();
const providers = createProviderRegistry({ simulated: { kind: 'simulated' } });
let telemetry: InMemoryTelemetry;
let pg: PgliteVectorServer;
let target: TargetServer;
let http: GuardedHttpClient;
let rag: NonNullable<DefaultToolRunnersDeps['rag']>;

beforeAll(async () => {
  telemetry = createInMemoryTelemetry();
  [pg, target] = await Promise.all([startPgliteVectorServer(), startTargetServer()]);
  http = new GuardedHttpClient({ allowedHosts: ['127.0.0.1'] });
  const store = new VectorStore({ sql: pg.sql, tracer: telemetry.tracer });
  const embedders = new EmbedderRegistry([new OfflineEmbedder({ tracer: telemetry.tracer })]);
  await ingestDocuments(
    { store, embedders, tracer: telemetry.tracer },
    { tenantId: tenant, collection: 'handbook', documents: HANDBOOK },
  );
  rag = { store, embedders, pricing };
});
afterEach(() => {
  telemetry.exporter.reset();
  target.reset();
});
afterAll(async () => {
  await Promise.all([pg?.close(), target?.close(), http?.close()]);
  await telemetry?.shutdown();
});

const handbookTool = {
  type: 'rag' as const,
  name: 'search_handbook',
  description: 'Searches the employee handbook',
  collection: 'handbook',
  topK: 2,
};

async function runAgent(tools: unknown[], options: { withRag?: boolean } = {}) {
  // Forget the ingestion's spans.
  telemetry.exporter.reset();
  const executor = createAgentExecutor({
    providers,
    tracer: telemetry.tracer,
    capture,
    pricing,
    tools: createDefaultToolRunners({
      http: { client: http, credentials: new CredentialStore({}) },
      ...(options.withRag === false ? {} : { rag }),
      llm: { providers, tracer: telemetry.tracer, pricing, capture },
    }),
  });
  const execution = await executeAgentNode(telemetry.tracer, executor, {
    runId: 'run-rag',
    tenantId: tenant,
    workflowId: 'wf',
    workflowName: 'hr',
    nodeId: 'answer',
    nodeType: 'agent',
    attempt: 1,
    config: NODE_CONFIG_SCHEMAS.agent.parse({
      name: 'hr-agent',
      provider: 'simulated',
      model: 'sim',
      prompt: '{{ input.question }}',
      tools,
    }),
    input: { question: 'How many vacation days carry over to next year?' },
    upstream: {},
    signal: new AbortController().signal,
    logger: silentLogger,
  });
  return { ...execution, spans: telemetry.spans() };
}

describe('agent rag tools', () => {
  it('searches the collection with its embedder, under the execute_tool span, next to an http tool', async () => {
    target.on('GET', '/policy', { body: { maxCarryOver: 10 } });
    const { output, error, steps, calls, spans } = await runAgent([
      handbookTool,
      {
        type: 'http',
        name: 'policy_api',
        description: 'Reads the carry-over policy',
        url: `${target.url}/policy`,
      },
    ]);
    expect(error).toBeUndefined();
    expect(output).toMatchObject({ steps: 3, toolCalls: 2 });

    const ragStep = steps[0]?.record;
    expect(ragStep).toMatchObject({
      step: 1,
      toolName: 'search_handbook',
      toolInput: { query: 'How many vacation days carry over to next year?' },
      isError: false,
    });
    const observation = ragStep?.observation as { collection: string; chunks: Record<string, JsonValue>[] };
    expect(observation.collection).toBe('handbook');
    expect(observation.chunks).toHaveLength(2);
    expect(observation.chunks[0]).toMatchObject({ source: 'leave.md', title: 'Leave policy' });
    expect(String(observation.chunks[0]?.content)).toMatch(/vacation days/);
    expect(steps[1]?.record.observation).toEqual({ status: 200, body: { maxCarryOver: 10 } });

    const tool = telemetry.span('execute_tool search_handbook');
    expect(tool.attributes).toMatchObject({
      'gen_ai.tool.type': 'datastore',
      'gen_ai.data_source.id': 'handbook',
    });
    const embeddings = spans.find((s) => s.name.startsWith('embeddings '));
    const retrieval = telemetry.span('retrieval handbook');
    expect(embeddings?.parentSpanContext?.spanId).toBe(tool.spanContext().spanId);
    expect(retrieval.parentSpanContext?.spanId).toBe(tool.spanContext().spanId);
    expect(steps[0]?.spanId).toBe(tool.spanContext().spanId);

    // The query embedding is a model call of the node, recorded on its span, and counted in the totals.
    const embeddingCall = calls.find((c) => c.record.operation === 'embeddings');
    expect(embeddingCall?.record).toMatchObject({ provider: 'flowtrace.offline', costUsd: 0 });
    expect(embeddingCall?.spanId).toBe(embeddings?.spanContext().spanId);
    const sum = (key: 'inputTokens' | 'outputTokens') => calls.reduce((n, c) => n + c.record[key], 0);
    expect(output?.usage).toEqual({ inputTokens: sum('inputTokens'), outputTokens: sum('outputTokens') });
  });

  it('feeds a missing collection back to the model as a tool error', async () => {
    const { output, error, steps } = await runAgent([{ ...handbookTool, collection: 'nope' }]);
    expect(error).toBeUndefined();
    expect(output).toMatchObject({ steps: 2, toolCalls: 1 });
    expect(steps[0]?.record).toMatchObject({
      isError: true,
      observation: {
        error:
          'collection "nope" does not exist for this tenant; ingest documents into it first (POST /v1/collections/nope/documents)',
      },
    });
    const tool = telemetry.span('execute_tool search_handbook');
    expect(tool.status.code).toBe(SpanStatusCode.ERROR);
    expect(tool.attributes['error.type']).toBe('not_found');
  });

  it('tells the model when the worker has no vector store', async () => {
    const { error, steps } = await runAgent([handbookTool], { withRag: false });
    expect(error).toBeUndefined();
    expect(steps[0]?.record.observation).toEqual({
      error: 'rag tool "search_handbook" is not available: this worker has no vector store configured',
    });
  });
});
