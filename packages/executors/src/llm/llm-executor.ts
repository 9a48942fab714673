import type {
  CompiledJsonSchema,
  JsonValue,
  Logger,
  NodeExecutionContext,
  NodeExecutor,
  TemplateScope,
} from '@flowtrace/workflow';
import {
  compileNodeJsonSchema,
  describeViolation,
  FlowtraceError,
  PermanentNodeError,
  renderTemplate,
  TransientNodeError,
} from '@flowtrace/workflow';
import type { Meter, Tracer } from '@opentelemetry/api';
import type { ContentCaptureOptions } from './content-capture.ts';
import { createPricingTable, type PricingTable } from './pricing.ts';
import type { ChatMessage, ChatRequest } from './provider.ts';
import type { ProviderRegistry } from './provider-registry.ts';
import { tracedChat } from './traced-chat.ts';

export interface LlmExecutorDeps {
  providers: ProviderRegistry;
  tracer: Tracer;
  meter?: Meter | undefined;
  /** Content capture; the registry's API keys are added to its secrets. */
  capture: ContentCaptureOptions;
  /** Defaults to the built-in table. */
  pricing?: PricingTable | undefined;
  /** For warnings outside a node (missing prices); node-scoped logs use the context's logger. */
  logger?: Logger | undefined;
}

/** What an `llm` node returns (its `output` for successors' templates). */
export interface LlmNodeOutput {
  [key: string]: JsonValue;
  text: string;
  model: string;
  finishReason: string;
  usage: { inputTokens: number; outputTokens: number };
  costUsd: number | null;
}

/**
 * The `llm` node: renders `system` and `prompt` against the run input and predecessor outputs, makes one
 * traced chat call and returns the text (plus `json`, parsed and checked against the schema, when the node
 * asked for structured output).
 */
export function createLlmExecutor(deps: LlmExecutorDeps): NodeExecutor<'llm'> {
  const pricing = deps.pricing ?? createPricingTable({ logger: deps.logger });
  const capture: ContentCaptureOptions = {
    ...deps.capture,
    secrets: [...(deps.capture.secrets ?? []), ...deps.providers.secrets()],
  };
  return {
    type: 'llm',
    async execute(ctx: NodeExecutionContext<'llm'>): Promise<JsonValue> {
      const config = ctx.config;
      // Before any model call: a schema that does not compile fails the node without spending tokens.
      const answerSchema =
        config.responseFormat === undefined
          ? undefined
          : compileNodeJsonSchema(config.responseFormat.schema, {
              nodeId: ctx.nodeId,
              label: 'responseFormat schema',
              details: { path: 'config.responseFormat.schema' },
            });
      const scope = templateScope(ctx);
      const messages: ChatMessage[] = [];
      if (config.system !== undefined) {
        messages.push({ role: 'system', content: render(config.system, scope, ctx.nodeId) });
      }
      messages.push({ role: 'user', content: render(config.prompt, scope, ctx.nodeId) });

      const provider = deps.providers.get(config.provider);
      const request: ChatRequest = { model: config.model, messages };
      if (config.temperature !== undefined) request.temperature = config.temperature;
      if (config.maxTokens !== undefined) request.maxTokens = config.maxTokens;
      if (config.responseFormat !== undefined) {
        request.responseFormat = { name: config.responseFormat.name, schema: config.responseFormat.schema };
      }

      const { response, costUsd } = await tracedChat({
        tracer: deps.tracer,
        meter: deps.meter,
        provider,
        providerName: config.provider,
        request,
        signal: ctx.signal,
        capture,
        ledger: ctx.ledger,
        pricing,
        logger: ctx.logger,
      });

      const text = response.message.text ?? '';
      const output: LlmNodeOutput = {
        text,
        model: response.model,
        finishReason: response.finishReason,
        usage: { inputTokens: response.usage.inputTokens, outputTokens: response.usage.outputTokens },
        costUsd,
      };
      if (answerSchema !== undefined) {
        const json = parseJsonAnswer(text, response.finishReason, config.provider, ctx.nodeId);
        assertAnswerMatches(answerSchema, json, config.provider, ctx.nodeId);
        output.json = json;
      }
      return output;
    },
  };
}

function templateScope(ctx: NodeExecutionContext<'llm'>): TemplateScope {
  const nodes: Record<string, { output: unknown }> = {};
  for (const [id, output] of Object.entries(ctx.upstream)) nodes[id] = { output };
  return { input: ctx.input, nodes, run: { id: ctx.runId } };
}

/** A template error (missing variable) cannot be fixed by retrying: make it permanent. */
function render(template: string, scope: TemplateScope, nodeId: string): string {
  try {
    return renderTemplate(template, scope, { nodeId });
  } catch (error) {
    if (error instanceof PermanentNodeError) throw error;
    if (error instanceof FlowtraceError) {
      throw new PermanentNodeError(error.code, error.message, {
        nodeId,
        details: error.details,
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * The structured answer. Invalid JSON is transient: models are not deterministic, and a retry (often with
 * a larger `maxTokens` after a `length` stop) usually produces a valid answer. Markdown code fences, which
 * some OpenAI-compatible servers add, are tolerated.
 */
function parseJsonAnswer(text: string, finishReason: string, provider: string, nodeId: string): JsonValue {
  const candidates = [text.trim()];
  const fenced = /^```(?:json)?\s*([\s\S]*?)\s*```$/i.exec(text.trim());
  if (fenced?.[1] !== undefined) candidates.push(fenced[1]);
  for (const candidate of candidates) {
    try {
      return JSON.parse(candidate) as JsonValue;
    } catch {
      // try the next form
    }
  }
  throw new TransientNodeError(
    'provider_error',
    `provider "${provider}" returned invalid JSON for the requested response format${
      finishReason === 'length' ? ' (the answer was cut off at maxTokens)' : ''
    }`,
    { nodeId, details: { provider, finishReason, length: text.length } },
  );
}

/**
 * A structured answer that parses but does not match the schema is transient, like invalid JSON: providers
 * without strict structured output (and models under them) get it wrong now and then, and the next
 * attempt, under the node's retry policy, usually gets it right.
 */
function assertAnswerMatches(
  schema: CompiledJsonSchema,
  json: JsonValue,
  provider: string,
  nodeId: string,
): void {
  const violation = schema.validate(json);
  if (violation === null) return;
  throw new TransientNodeError(
    'response_schema_mismatch',
    `provider "${provider}" returned JSON that does not match the responseFormat schema: ${describeViolation(violation, 'the answer')}`,
    {
      nodeId,
      details: { provider, instancePath: violation.instancePath, keyword: violation.keyword },
    },
  );
}
