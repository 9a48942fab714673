import { type AgentNodeConfig, NODE_CONFIG_SCHEMAS } from '@flowtrace/workflow';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { CredentialStore } from '../connector/credentials.ts';
import { GuardedHttpClient } from '../connector/guarded-http-client.ts';
import type { ContentCaptureOptions } from '../llm/content-capture.ts';
import { createPricingTable } from '../llm/pricing.ts';
import { createProviderRegistry, type ProviderRegistry } from '../llm/provider-registry.ts';
import { type AgentNodeExecution, executeAgentNode } from '../testing/execute-agent-node.ts';
import { FakeAnthropicServer } from '../testing/fake-anthropic-server.ts';
import { FakeOpenAiServer } from '../testing/fake-openai-server.ts';
import { createInMemoryTelemetry, type InMemoryTelemetry } from '../testing/in-memory-telemetry.ts';
import { silentLogger } from '../testing/silent-logger.ts';
import { startTargetServer, type TargetServer } from '../testing/target-server.ts';
import { createAgentExecutor } from './agent-executor.ts';
import { createDefaultToolRunners } from './default-tool-runners.ts';

/**
 * TEST HARNESS for the agent executor tests: fake OpenAI and Anthropic servers, a loopback target
 * server the SSRF policy allows, a provider registry (openai, anthropic, simulated), in-memory
 * telemetry per test, and `runAgent`, which executes an agent node inside a CONSUMER span and records
 * every ledger entry with the span active when it was recorded. Call `useAgentHarness()` at the top of
 * a test file; `target` and `telemetry` are live bindings, valid inside tests.
 */

export const OPENAI_KEY = 'sk-agent-openai-canary-1a2b3c4d5e6f';
export const ANTHROPIC_KEY = 'sk-ant-agent-canary-9f8e7d6c5b4a';
export const WEATHER_TOKEN = 'wx-secret-token-77c1d0e5';

export const openai = new FakeOpenAiServer({ apiKey: OPENAI_KEY });
export const anthropic = new FakeAnthropicServer({ apiKey: ANTHROPIC_KEY });
export let target: TargetServer;
let http: GuardedHttpClient;
let providers: ProviderRegistry;
export let telemetry: InMemoryTelemetry;
const credentials = new CredentialStore({
  weather: { headers: { Authorization: `Bearer ${WEATHER_TOKEN}` }, hosts: ['127.0.0.1'] },
});
const pricing = createPricingTable();
const captureOff: ContentCaptureOptions = { enabled: false, maxLength: 4096, redact: [] };

/** Registers the servers' and telemetry's set-up and clean-up hooks. */
export function useAgentHarness(): void {
  beforeAll(async () => {
    await Promise.all([openai.start(), anthropic.start()]);
    target = await startTargetServer();
    http = new GuardedHttpClient({ allowedHosts: ['127.0.0.1'] });
    providers = createProviderRegistry({
      openai: { kind: 'openai', baseUrl: openai.baseUrl, apiKey: OPENAI_KEY },
      anthropic: { kind: 'anthropic', baseUrl: anthropic.url, apiKey: ANTHROPIC_KEY },
      simulated: { kind: 'simulated' },
    });
  });
  beforeEach(() => {
    telemetry = createInMemoryTelemetry();
  });
  afterEach(async () => {
    openai.reset();
    anthropic.reset();
    target.reset();
    await telemetry.shutdown();
  });
  afterAll(async () => {
    await Promise.all([openai.close(), anthropic.close(), target.close(), http.close()]);
  });
}

export const weatherTool = () => ({
  type: 'http' as const,
  name: 'get_weather',
  description: 'Current weather for a city',
  url: `${target.url}/weather/{{ args.city }}`,
  credential: 'weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
});
export const advisorTool = {
  type: 'llm' as const,
  // A dot is valid in a workflow name but not in a provider tool name: the model sees `style_advisor`.
  name: 'style.advisor',
  description: 'Suggests clothes for weather conditions',
  provider: 'simulated',
  model: 'sim-small',
  prompt: 'Suggest clothes for {{ args.conditions }} in {{ input.city }}',
  parameters: { type: 'object', properties: { conditions: { type: 'string' } }, required: ['conditions'] },
};

export function agentConfig(overrides: Record<string, unknown> = {}): AgentNodeConfig {
  return NODE_CONFIG_SCHEMAS.agent.parse({
    name: 'outfit-agent',
    provider: 'openai',
    model: 'gpt-4o-mini',
    system: 'You dress {{ input.user }}.',
    prompt: 'What should I wear in {{ input.city }}? (run {{ run.id }})',
    tools: [weatherTool(), advisorTool],
    ...overrides,
  });
}

export interface AgentRun extends AgentNodeExecution {
  spans: ReadableSpan[];
  nodeSpan: ReadableSpan;
}

export async function runAgent(
  config: AgentNodeConfig,
  options: { capture?: ContentCaptureOptions; signal?: AbortSignal; maxStoredChars?: number } = {},
): Promise<AgentRun> {
  const capture = options.capture ?? captureOff;
  telemetry.exporter.reset();
  const executor = createAgentExecutor({
    providers,
    tracer: telemetry.tracer,
    meter: telemetry.meter,
    capture,
    pricing,
    tools: createDefaultToolRunners({
      http: { client: http, credentials },
      llm: { providers, tracer: telemetry.tracer, pricing, capture },
    }),
    maxStoredChars: options.maxStoredChars,
  });
  const execution = await executeAgentNode(telemetry.tracer, executor, {
    runId: 'run-42',
    tenantId: 'tenant-1',
    workflowId: 'wf-1',
    workflowName: 'outfits',
    nodeId: 'advise',
    nodeType: 'agent',
    attempt: 1,
    config,
    input: { city: 'New York', user: 'Ada' },
    upstream: {},
    signal: options.signal ?? new AbortController().signal,
    logger: silentLogger,
  });
  return { ...execution, spans: telemetry.spans(), nodeSpan: telemetry.span('process nodes.agent') };
}

export const idOf = (span: ReadableSpan | undefined) => span?.spanContext().spanId;
export const parentOf = (span: ReadableSpan | undefined) => span?.parentSpanContext?.spanId;
export const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) =>
  spans.filter((s) => parentOf(s) === idOf(parent)).sort((a, b) => cmpTime(a.startTime, b.startTime));
export const cmpTime = (a: [number, number], b: [number, number]) => a[0] - b[0] || a[1] - b[1];
/** The messages of the n-th chat request the fake OpenAI server received. */
export const messagesOf = (n: number): Record<string, unknown>[] =>
  (openai.chatRequests[n]?.body as { messages?: Record<string, unknown>[] } | undefined)?.messages ?? [];
export const byName = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
