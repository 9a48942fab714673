import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_TOOL_CALL_ARGUMENTS,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_CALL_RESULT,
  ATTR_GEN_AI_TOOL_DESCRIPTION,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_TOOL_TYPE,
  GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
} from '@flowtrace/telemetry/semconv';
import { type AgentTool, FlowtraceError, type JsonValue, limitJsonDepth } from '@flowtrace/workflow';
import { type Attributes, type Span, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { ContentCaptureOptions, Redactor } from '../llm/content-capture.ts';
import type { ChatToolCall } from '../llm/provider.ts';
import { toolResultContent } from './step-content.ts';
import type { AgentToolContext, AgentToolRunners } from './tool-runner.ts';
import { genAiToolType, parseToolArguments, ToolCallError, type Toolset } from './toolset.ts';

/** How one tool call ended. */
export interface ToolOutcome {
  /** The configured tool name (the name the model used when it named no configured tool). */
  toolName: string;
  /** What the model sent (the raw text when it was not valid JSON). */
  args: JsonValue;
  /** The tool's result, or `{ error }` when it failed. */
  observation: JsonValue;
  isError: boolean;
  /** The tool message content fed back to the model. */
  content: string;
}

export interface ExecuteToolOptions {
  tracer: Tracer;
  toolset: Toolset;
  runners: AgentToolRunners;
  toolCtx: AgentToolContext;
  capture: ContentCaptureOptions;
  redact: Redactor;
  maxToolResultChars: number;
  /** Called while the `execute_tool` span is active, so that a step row recorded here points at it. */
  onOutcome: (outcome: ToolOutcome) => void;
}

/**
 * Runs one tool call inside an INTERNAL span `execute_tool <tool>` (`gen_ai.operation.name`,
 * `gen_ai.tool.name`, `gen_ai.tool.call.id`, `gen_ai.tool.type`, `gen_ai.tool.description`; arguments
 * and result only with content capture on, redacted). A failing tool (unknown name, unusable
 * arguments, HTTP error, refused destination, missing collection, ...) does not throw: the span gets
 * ERROR status, `error.type` and a redacted exception event, and the outcome carries `{ error }` for the
 * model. Only an abort of the node's signal propagates.
 */
export function executeTool(call: ChatToolCall, options: ExecuteToolOptions): Promise<ToolOutcome> {
  const { toolset, toolCtx, redact } = options;
  const offered = toolset.find(call.name);
  const toolName = offered?.tool.name ?? call.name;
  const attributes: Attributes = {
    [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
    [ATTR_GEN_AI_TOOL_NAME]: toolName,
    [ATTR_GEN_AI_TOOL_CALL_ID]: call.id,
    [ATTR_GEN_AI_TOOL_TYPE]: genAiToolType(offered?.tool),
    ...(offered === undefined ? {} : { [ATTR_GEN_AI_TOOL_DESCRIPTION]: offered.tool.description }),
  };
  return options.tracer.startActiveSpan(
    `${GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL} ${toolName}`,
    { kind: SpanKind.INTERNAL, attributes },
    async (span) => {
      const started = performance.now();
      try {
        toolCtx.signal.throwIfAborted();
        let observation: JsonValue;
        let isError = false;
        try {
          if (offered === undefined) {
            throw new ToolCallError(
              'unknown_tool',
              `there is no tool "${call.name}"; the available tools are ${toolset.definitions.map((d) => `"${d.name}"`).join(', ') || '(none)'}`,
            );
          }
          const args = parseToolArguments(offered, call.arguments);
          observation = await runTool(options.runners, offered.tool, args, toolCtx);
        } catch (error) {
          if (toolCtx.signal.aborted) throw toolCtx.signal.reason ?? error;
          isError = true;
          const message = redact(messageOf(error));
          observation = { error: message };
          // The message can quote the model's arguments (a URL built from them, say): it goes back to the
          // model and into the step row, but on spans and logs only with content capture on.
          const recorded = options.capture.enabled
            ? message
            : `tool "${toolName}" failed (${errorTypeOf(error)})`;
          markFailed(span, error, recorded, redact);
          toolCtx.logger.info(
            { tool: toolName, toolCallId: call.id, errorType: errorTypeOf(error), error: recorded },
            'agent tool call failed; the error goes back to the model',
          );
        }
        const outcome: ToolOutcome = {
          toolName,
          args: call.arguments,
          observation,
          isError,
          content: toolResultContent(observation, options.maxToolResultChars),
        };
        if (options.capture.enabled) captureContent(span, outcome, options);
        options.onOutcome(outcome);
        toolCtx.logger.debug(
          {
            tool: toolName,
            toolCallId: call.id,
            isError,
            durationMs: Math.round(performance.now() - started),
          },
          'agent tool call finished',
        );
        return outcome;
      } catch (error) {
        markFailed(span, error, redact(messageOf(error)), redact);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

function runTool(
  runners: AgentToolRunners,
  tool: AgentTool,
  args: Record<string, JsonValue>,
  ctx: AgentToolContext,
): Promise<JsonValue> {
  switch (tool.type) {
    case 'http':
      return runners.http.run(tool, args, ctx);
    case 'rag':
      return runners.rag.run(tool, args, ctx);
    case 'llm':
      return runners.llm.run(tool, args, ctx);
  }
}

function captureContent(span: Span, outcome: ToolOutcome, options: ExecuteToolOptions): void {
  try {
    const max = options.capture.maxLength;
    const json = (value: JsonValue): string =>
      cap(options.redact(typeof value === 'string' ? value : JSON.stringify(limitJsonDepth(value))), max);
    span.setAttributes({
      [ATTR_GEN_AI_TOOL_CALL_ARGUMENTS]: json(outcome.args),
      [ATTR_GEN_AI_TOOL_CALL_RESULT]: json(outcome.observation),
    });
  } catch (error) {
    // Telemetry never breaks execution.
    options.toolCtx.logger.warn({ err: error }, 'recording tool content on the span failed');
  }
}

function cap(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[truncated]`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * `error.type` of a failed tool: why the loop refused the call, the HTTP status of an error response,
 * our error code for other node errors, the error's class name otherwise.
 */
function errorTypeOf(error: unknown): string {
  if (error instanceof ToolCallError) return error.reason;
  if (error instanceof FlowtraceError) {
    const status = error.details?.status;
    return typeof status === 'number' ? String(status) : error.code;
  }
  if (error instanceof Error) return error.name || 'Error';
  return '_OTHER';
}

function markFailed(span: Span, error: unknown, message: string, redact: Redactor): void {
  span.setAttribute(ATTR_ERROR_TYPE, errorTypeOf(error));
  span.recordException({
    name: error instanceof Error ? error.name : 'Error',
    message,
    // Our errors' stacks say nothing the message does not; other errors' stacks help find the bug.
    ...(error instanceof Error && !(error instanceof FlowtraceError) && error.stack !== undefined
      ? { stack: redact(error.stack) }
      : {}),
  });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}
