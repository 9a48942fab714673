import { FlowtraceAttributes, withSpan } from '@flowtrace/telemetry';
import {
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_COST,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
} from '@flowtrace/telemetry/semconv';
import {
  type AgentStepRecord,
  FlowtraceError,
  type JsonSchemaObject,
  type JsonValue,
  type Logger,
  type NodeExecutionContext,
  type NodeExecutor,
  PermanentNodeError,
  renderTemplate,
  type TemplateScope,
} from '@flowtrace/workflow';
import { type Attributes, type Meter, SpanKind, type Tracer } from '@opentelemetry/api';
import { templateScope } from '../connector/template-scope.ts';
import { type ContentCaptureOptions, createRedactor } from '../llm/content-capture.ts';
import type { PricingTable } from '../llm/pricing.ts';
import type { ChatMessage, ChatRequest } from '../llm/provider.ts';
import type { ProviderRegistry } from '../llm/provider-registry.ts';
import { tracedChat } from '../llm/traced-chat.ts';
import { AgentUsage, budgetError, stepBudgetError } from './agent-usage.ts';
import { executeTool } from './execute-tool.ts';
import {
  DEFAULT_MAX_STORED_CHARS,
  DEFAULT_MAX_TOOL_RESULT_CHARS,
  type StoredContentOptions,
  storedJson,
  storedText,
} from './step-content.ts';
import type { AgentToolContext, AgentToolRunners } from './tool-runner.ts';
import { buildToolset } from './toolset.ts';

export interface AgentExecutorDeps {
  providers: ProviderRegistry;
  tracer: Tracer;
  /** Records the GenAI client metrics of every chat call when given. */
  meter?: Meter | undefined;
  /**
   * Content capture of the spans. Its redaction (patterns, secrets, plus the registry's API keys and
   * the tool runners' secrets) also applies to the steps stored in `agent_trace_history`.
   */
  capture: ContentCaptureOptions;
  pricing: PricingTable;
  tools: AgentToolRunners;
  /** Process-level logger, as other executors take; the loop logs through the node context's logger. */
  logger?: Logger | undefined;
  /** Size limit of each stored thought, tool input and observation (default 16 KiB of characters). */
  maxStoredChars?: number | undefined;
  /** Size limit of each tool result fed back to the model (default 32 KiB of characters). */
  maxToolResultChars?: number | undefined;
}

/** What an `agent` node returns. */
export interface AgentNodeOutput {
  [key: string]: JsonValue;
  /** The model's final text. */
  answer: string;
  /** Model calls the agent made (what `maxSteps` bounds). */
  steps: number;
  /** Tool calls executed, failed ones included. */
  toolCalls: number;
  /** Tokens of every model call of the node: the agent's own, its llm tools' and its rag tools' embeddings. */
  usage: { inputTokens: number; outputTokens: number };
  /** USD over the same calls; null when one of them had no price. */
  costUsd: number | null;
}

/**
 * The `agent` node: a tool-calling loop on a chat provider, inside an INTERNAL span
 * `invoke_agent <name>` (the GenAI convention's kind for an agent running in-process).
 *
 * Each round makes one traced chat call (`chat <model>`, cost, a `model_cost_logs` row), then runs the
 * tools the model asked for, one after another in the order asked, each in an `execute_tool <tool>`
 * span, and feeds their results back as tool messages. The loop ends when the model answers without
 * tool calls. Tool failures go back to the model as `{ "error": "..." }` results; provider errors and
 * aborts propagate. Budgets: `maxSteps` model calls, and `budget.maxTotalTokens` / `budget.maxCostUsd`
 * over every model call of the node, checked after each of the agent's model calls; exceeding one fails
 * the node with `budget_exceeded`, and tools the model asked for in that last response are not run.
 *
 * Steps (`agent_trace_history`, numbered from 1 in recording order, one per row):
 * - a response with N tool calls gives N rows, each recorded inside its `execute_tool` span; the model's
 *   text, if any, is the first row's `thought`, and the call's token usage is on the first row only, so
 *   that the rows' tokens add up to the agent's own model usage;
 * - the final answer gives one row (`thought` = the answer, no tool), recorded inside the
 *   `invoke_agent` span;
 * - tool calls left unrun because a budget ran out give rows with `isError` and a "not run" observation.
 * Rows are stored whether or not span content capture is on (they live in our database, and debugging
 * an agent needs them), redacted with the capture redactor and cut at `maxStoredChars`.
 */
export function createAgentExecutor(deps: AgentExecutorDeps): NodeExecutor<'agent'> {
  const capture: ContentCaptureOptions = {
    ...deps.capture,
    secrets: [
      ...(deps.capture.secrets ?? []),
      ...deps.providers.secrets(),
      ...(deps.tools.secrets?.() ?? []),
    ],
  };
  const redact = createRedactor(capture);
  const stored: StoredContentOptions = { redact, maxChars: deps.maxStoredChars ?? DEFAULT_MAX_STORED_CHARS };
  const maxToolResultChars = deps.maxToolResultChars ?? DEFAULT_MAX_TOOL_RESULT_CHARS;

  return {
    type: 'agent',
    async execute(ctx: NodeExecutionContext<'agent'>): Promise<JsonValue> {
      const config = ctx.config;
      const where = { nodeId: ctx.nodeId };
      const scope = templateScope(ctx);
      const messages: ChatMessage[] = [];
      if (config.system !== undefined) {
        messages.push({ role: 'system', content: render(config.system, scope, where) });
      }
      messages.push({ role: 'user', content: render(config.prompt, scope, where) });
      const resolved = new Map<string, JsonSchemaObject>();
      for (const tool of config.tools) {
        if (tool.type !== 'llm' || !deps.tools.llm.parameters) continue;
        const parameters = await deps.tools.llm.parameters(tool, {
          tenantId: ctx.tenantId,
          nodeId: ctx.nodeId,
        });
        if (parameters) resolved.set(tool.name, parameters);
      }
      const toolset = buildToolset(config.tools, where, resolved);
      const provider = deps.providers.get(config.provider);

      const usage = new AgentUsage();
      // The node's ledger, counting every model call (tools' included) towards the agent's own budget.
      const ledger: AgentToolContext['ledger'] = {
        recordModelCall: async (call, reservation) => {
          usage.add(call);
          await ctx.ledger.recordModelCall(call, reservation);
        },
        ...(ctx.ledger.reserveModelCall
          ? { reserveModelCall: ctx.ledger.reserveModelCall.bind(ctx.ledger) }
          : {}),
        ...(ctx.ledger.releaseModelCall
          ? { releaseModelCall: ctx.ledger.releaseModelCall.bind(ctx.ledger) }
          : {}),
      };
      const toolCtx: AgentToolContext = {
        runId: ctx.runId,
        tenantId: ctx.tenantId,
        nodeId: ctx.nodeId,
        scope,
        signal: ctx.signal,
        logger: ctx.logger,
        ledger,
      };
      let step = 0;
      const record = (row: Omit<AgentStepRecord, 'step'>): void =>
        ctx.ledger.recordAgentStep({ ...row, step: ++step });
      const counts = { modelCalls: 0, toolCalls: 0, toolErrors: 0 };
      let responseModel: string | undefined;

      const attributes: Attributes = {
        [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
        [ATTR_GEN_AI_AGENT_NAME]: config.name,
        [ATTR_GEN_AI_PROVIDER_NAME]: provider.genAiProviderName,
        [ATTR_GEN_AI_REQUEST_MODEL]: config.model,
        [FlowtraceAttributes.AGENT_MAX_STEPS]: config.maxSteps,
        ...(config.maxTokens === undefined ? {} : { [ATTR_GEN_AI_REQUEST_MAX_TOKENS]: config.maxTokens }),
      };

      return withSpan(
        deps.tracer,
        `${GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT} ${config.name}`,
        { kind: SpanKind.INTERNAL, attributes },
        async (span) => {
          try {
            for (;;) {
              ctx.signal.throwIfAborted();
              const request: ChatRequest = { model: config.model, messages: [...messages] };
              if (toolset.definitions.length > 0) request.tools = toolset.definitions;
              if (config.maxTokens !== undefined) request.maxTokens = config.maxTokens;
              const { response } = await tracedChat({
                tracer: deps.tracer,
                meter: deps.meter,
                provider,
                providerName: config.provider,
                request,
                signal: ctx.signal,
                capture,
                ledger,
                pricing: deps.pricing,
                logger: ctx.logger,
              });
              counts.modelCalls++;
              responseModel = response.model;
              const text = response.message.text;
              const calls = response.message.toolCalls;
              const tokens = {
                inputTokens: response.usage.inputTokens,
                outputTokens: response.usage.outputTokens,
              };
              const noTokens = { inputTokens: 0, outputTokens: 0 };
              const overBudget = budgetError(config, usage, counts.modelCalls, where);

              if (calls.length === 0) {
                record({
                  thought: storedText(text, stored),
                  toolName: null,
                  toolCallId: null,
                  toolInput: null,
                  observation: null,
                  isError: false,
                  ...tokens,
                });
                if (overBudget !== null) throw overBudget;
                return output(text ?? '', counts, usage);
              }

              const stop =
                overBudget ?? (counts.modelCalls >= config.maxSteps ? stepBudgetError(config, where) : null);
              if (stop !== null) {
                calls.forEach((call, index) => {
                  record({
                    thought: index === 0 ? storedText(text, stored) : null,
                    toolName: toolset.find(call.name)?.tool.name ?? call.name,
                    toolCallId: call.id,
                    toolInput: storedJson(call.arguments, stored),
                    observation: { error: `not run: ${stop.message}` },
                    isError: true,
                    ...(index === 0 ? tokens : noTokens),
                  });
                });
                throw stop;
              }

              messages.push({ role: 'assistant', content: text, toolCalls: calls });
              for (const [index, call] of calls.entries()) {
                const outcome = await executeTool(call, {
                  tracer: deps.tracer,
                  toolset,
                  runners: deps.tools,
                  toolCtx,
                  capture,
                  redact,
                  maxToolResultChars,
                  onOutcome: (o) =>
                    record({
                      thought: index === 0 ? storedText(text, stored) : null,
                      toolName: o.toolName,
                      toolCallId: call.id,
                      toolInput: storedJson(o.args, stored),
                      observation: storedJson(o.observation, stored),
                      isError: o.isError,
                      ...(index === 0 ? tokens : noTokens),
                    }),
                });
                counts.toolCalls++;
                if (outcome.isError) counts.toolErrors++;
                messages.push({
                  role: 'tool',
                  toolCallId: call.id,
                  name: call.name,
                  content: outcome.content,
                  ...(outcome.isError ? { isError: true } : {}),
                });
              }
            }
          } finally {
            span.setAttributes(totalAttributes(usage, counts, responseModel));
          }
        },
      );
    },
  };
}

function output(
  answer: string,
  counts: { modelCalls: number; toolCalls: number },
  usage: AgentUsage,
): AgentNodeOutput {
  return {
    answer,
    steps: counts.modelCalls,
    toolCalls: counts.toolCalls,
    usage: { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens },
    costUsd: usage.costUsd,
  };
}

function totalAttributes(
  usage: AgentUsage,
  counts: { modelCalls: number; toolCalls: number; toolErrors: number },
  responseModel: string | undefined,
): Attributes {
  const cost = usage.costUsd;
  return {
    [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: usage.inputTokens,
    [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: usage.outputTokens,
    ...(cost === null
      ? { [FlowtraceAttributes.AGENT_COST_UNKNOWN]: true }
      : { [ATTR_GEN_AI_USAGE_COST]: cost }),
    ...(responseModel === undefined ? {} : { [ATTR_GEN_AI_RESPONSE_MODEL]: responseModel }),
    [FlowtraceAttributes.AGENT_MODEL_CALLS]: counts.modelCalls,
    [FlowtraceAttributes.AGENT_TOOL_CALLS]: counts.toolCalls,
    [FlowtraceAttributes.AGENT_TOOL_ERRORS]: counts.toolErrors,
  };
}

/** A template error (missing variable) cannot be fixed by retrying: make it permanent. */
function render(template: string, scope: TemplateScope, where: { nodeId: string }): string {
  try {
    return renderTemplate(template, scope, where);
  } catch (error) {
    if (error instanceof FlowtraceError && !(error instanceof PermanentNodeError)) {
      throw new PermanentNodeError(error.code, error.message, {
        ...where,
        details: error.details,
        cause: error,
      });
    }
    throw error;
  }
}
