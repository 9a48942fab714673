import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_OUTPUT_TYPE,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_TEMPERATURE,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_TOKEN_TYPE,
  ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_COST,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  GEN_AI_OPERATION_DURATION_BUCKETS,
  GEN_AI_OPERATION_NAME_VALUE_CHAT,
  GEN_AI_OUTPUT_TYPE_VALUE_JSON,
  GEN_AI_OUTPUT_TYPE_VALUE_TEXT,
  GEN_AI_TOKEN_TYPE_VALUE_INPUT,
  GEN_AI_TOKEN_TYPE_VALUE_OUTPUT,
  GEN_AI_TOKEN_USAGE_BUCKETS,
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
} from '@flowtrace/telemetry/semconv';
import type { ExecutionLedger, Logger, ModelCallEstimate, ModelCallReservation } from '@flowtrace/workflow';
import { FlowtraceError, limitJsonDepth } from '@flowtrace/workflow';
import {
  type Attributes,
  type Histogram,
  type Meter,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';
import {
  type ContentCaptureOptions,
  createRedactor,
  inputContentAttributes,
  outputContentAttributes,
  type Redactor,
} from './content-capture.ts';
import type { PricingTable } from './pricing.ts';
import type { ChatProvider, ChatRequest, ChatResponse } from './provider.ts';

export interface TracedChatOptions {
  tracer: Tracer;
  /** Records `gen_ai.client.token.usage` and `gen_ai.client.operation.duration` when given. */
  meter?: Meter | undefined;
  provider: ChatProvider;
  /** The provider's configured name (what the node referenced); the ledger's `provider`. */
  providerName: string;
  request: ChatRequest;
  signal?: AbortSignal | undefined;
  capture: ContentCaptureOptions;
  ledger: Pick<ExecutionLedger, 'recordModelCall' | 'reserveModelCall' | 'releaseModelCall'>;
  pricing: PricingTable;
  logger?: Logger | undefined;
}

export interface TracedChatResult {
  response: ChatResponse;
  costUsd: number | null;
  pricingVersion: string;
  latencyMs: number;
}

/**
 * One chat call as a GenAI CLIENT span `chat <model>`: request attributes up front, response model, id,
 * finish reasons, token usage and `gen_ai.usage.cost` on success; `error.type`, ERROR status and a
 * (redacted) exception event on failure. The model-call record goes to the ledger while the span is
 * active, so the engine stamps the row with this span's ids. Prompt and completion text go on the span
 * only when capture is enabled, redacted; error messages are always redacted.
 */
export function tracedChat(options: TracedChatOptions): Promise<TracedChatResult> {
  const { tracer, provider, request } = options;
  const redact = redactorFor(options.capture);
  const baseAttributes: Attributes = {
    [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_CHAT,
    [ATTR_GEN_AI_PROVIDER_NAME]: provider.genAiProviderName,
    [ATTR_GEN_AI_REQUEST_MODEL]: request.model,
    ...(provider.server === undefined
      ? {}
      : { [ATTR_SERVER_ADDRESS]: provider.server.address, [ATTR_SERVER_PORT]: provider.server.port }),
  };
  const spanAttributes: Attributes = {
    ...baseAttributes,
    [ATTR_GEN_AI_OUTPUT_TYPE]:
      request.responseFormat === undefined ? GEN_AI_OUTPUT_TYPE_VALUE_TEXT : GEN_AI_OUTPUT_TYPE_VALUE_JSON,
  };
  if (request.temperature !== undefined && provider.supportsTemperature) {
    spanAttributes[ATTR_GEN_AI_REQUEST_TEMPERATURE] = request.temperature;
  }
  if (request.maxTokens !== undefined) spanAttributes[ATTR_GEN_AI_REQUEST_MAX_TOKENS] = request.maxTokens;
  if (options.capture.enabled) {
    Object.assign(
      spanAttributes,
      safely(options.logger, () => inputContentAttributes(options.capture, redact, request.messages), {}),
    );
  }

  return reserveThenCall(options, (reservation, state) =>
    tracer.startActiveSpan(
      `${GEN_AI_OPERATION_NAME_VALUE_CHAT} ${request.model}`,
      { kind: SpanKind.CLIENT, attributes: spanAttributes },
      async (span) => {
        const started = performance.now();
        const calledAt = new Date();
        try {
          const response = withBoundedToolCalls(await provider.chat(request, { signal: options.signal }));
          state.answered = true;
          const latencyMs = Math.round(performance.now() - started);
          const { costUsd, pricingVersion } = options.pricing.computeCost(
            provider.genAiProviderName,
            [response.model, request.model],
            response.usage,
            calledAt,
          );
          span.setAttributes(responseAttributes(response, costUsd));
          if (options.capture.enabled) {
            span.setAttributes(
              safely(options.logger, () => outputContentAttributes(options.capture, redact, response), {}),
            );
          }
          await options.ledger.recordModelCall(
            {
              provider: options.providerName,
              operation: 'chat',
              requestModel: request.model,
              responseModel: response.model,
              responseId: response.id,
              inputTokens: response.usage.inputTokens,
              outputTokens: response.usage.outputTokens,
              cachedInputTokens: response.usage.cachedInputTokens,
              reasoningTokens: response.usage.reasoningTokens,
              costUsd,
              pricingVersion,
              latencyMs,
              finishReason: response.finishReason,
            },
            reservation,
          );
          recordMetrics(options, baseAttributes, latencyMs, response, undefined);
          return { response, costUsd, pricingVersion, latencyMs };
        } catch (error) {
          const errorType = errorTypeOf(error);
          scrubError(error, redact);
          recordFailure(span, error, errorType, redact);
          recordMetrics(options, baseAttributes, performance.now() - started, undefined, errorType);
          throw error;
        } finally {
          span.end();
        }
      },
    ),
  );
}

/** Output tokens a call without `maxTokens` is assumed to use when its cost is reserved. */
export const DEFAULT_OUTPUT_TOKENS_ESTIMATE = 1_024;

/**
 * What a chat request will cost at most, roughly: about four characters per input token (messages, tool
 * calls and tool definitions), and `maxTokens` (or `DEFAULT_OUTPUT_TOKENS_ESTIMATE`) output tokens.
 */
export function estimateChat(
  options: Pick<TracedChatOptions, 'provider' | 'providerName' | 'request' | 'pricing'>,
): ModelCallEstimate {
  const { request } = options;
  let chars = 0;
  for (const message of request.messages) {
    chars += 8 + (message.content?.length ?? 0);
    if (message.role === 'assistant') {
      for (const call of message.toolCalls ?? [])
        chars += call.name.length + JSON.stringify(call.arguments).length;
    }
  }
  for (const tool of request.tools ?? []) chars += JSON.stringify(tool).length;
  const inputTokens = Math.ceil(chars / 4);
  const outputTokens = request.maxTokens ?? DEFAULT_OUTPUT_TOKENS_ESTIMATE;
  const { costUsd } = options.pricing.computeCost(options.provider.genAiProviderName, [request.model], {
    inputTokens,
    outputTokens,
  });
  return {
    provider: options.providerName,
    operation: 'chat',
    requestModel: request.model,
    inputTokens,
    outputTokens,
    costUsd,
  };
}

/**
 * Reserves the call's estimate against the tenant's budgets before making it (a refusal means the call
 * is never made), and gives the reservation back when the call fails without an answer.
 */
async function reserveThenCall<T>(
  options: TracedChatOptions,
  call: (reservation: ModelCallReservation | null, state: { answered: boolean }) => Promise<T>,
): Promise<T> {
  const reservation = options.ledger.reserveModelCall
    ? await options.ledger.reserveModelCall(estimateChat(options))
    : null;
  const state = { answered: false };
  try {
    return await call(reservation, state);
  } catch (error) {
    // Once answered, the call is recorded (or its reservation is settled as abandoned by a later attempt).
    if (reservation !== null && !state.answered && options.ledger.releaseModelCall) {
      const outcome = options.signal?.aborted ? 'abandoned' : 'failed';
      await options.ledger.releaseModelCall(reservation, outcome).catch((releaseError: unknown) => {
        options.logger?.warn({ err: releaseError }, 'could not release a model-call reservation');
      });
    }
    throw error;
  }
}

/**
 * The reply with each tool call's arguments nested at most `STORED_JSON_MAX_DEPTH` deep (deeper
 * containers become a marker). Arguments travel on: into tool templates and requests, step rows, span
 * content and the next request to the provider, all of which serialize them, and a model can nest them
 * deeper than the call stack allows.
 */
function withBoundedToolCalls(response: ChatResponse): ChatResponse {
  const calls = response.message.toolCalls;
  const bounded = calls.map((call) => {
    const args = limitJsonDepth(call.arguments);
    return args === call.arguments ? call : { ...call, arguments: args };
  });
  if (bounded.every((call, i) => call === calls[i])) return response;
  return { ...response, message: { ...response.message, toolCalls: bounded } };
}

function responseAttributes(response: ChatResponse, costUsd: number | null): Attributes {
  const usage = response.usage;
  const attributes: Attributes = {
    [ATTR_GEN_AI_RESPONSE_MODEL]: response.model,
    [ATTR_GEN_AI_RESPONSE_ID]: response.id,
    [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: [response.providerFinishReason ?? response.finishReason],
    [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: usage.inputTokens,
    [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: usage.outputTokens,
  };
  if (usage.cachedInputTokens > 0)
    attributes[ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = usage.cachedInputTokens;
  if (usage.cacheCreationInputTokens > 0) {
    attributes[ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = usage.cacheCreationInputTokens;
  }
  if (usage.reasoningTokens > 0)
    attributes[ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoningTokens;
  if (costUsd !== null) attributes[ATTR_GEN_AI_USAGE_COST] = costUsd;
  return attributes;
}

/**
 * `error.type`: the HTTP status for provider answers (`429`), `timeout` for timeouts, our error code for
 * other node errors, the error's class name otherwise (`AbortError` for cancellations).
 */
function errorTypeOf(error: unknown): string {
  if (error instanceof FlowtraceError) {
    const status = error.details?.status;
    if (typeof status === 'number') return String(status);
    if (error.details?.reason === 'timeout') return 'timeout';
    return error.code;
  }
  if (error instanceof Error) return error.name || 'Error';
  return '_OTHER';
}

/** Provider errors can echo the prompt back: scrub the message the engine stores and logs. */
function scrubError(error: unknown, redact: Redactor): void {
  if (!(error instanceof Error)) return;
  try {
    const message = redact(error.message);
    if (message !== error.message) error.message = message;
    if (error.stack !== undefined) error.stack = redact(error.stack);
  } catch {
    // A frozen error keeps its message; the span still gets a redacted copy below.
  }
}

function recordFailure(span: Span, error: unknown, errorType: string, redact: Redactor): void {
  const message = redact(error instanceof Error ? error.message : String(error));
  span.setAttribute(ATTR_ERROR_TYPE, errorType);
  span.recordException({
    name: error instanceof Error ? error.name : 'Error',
    message,
    ...(error instanceof Error && error.stack !== undefined ? { stack: redact(error.stack) } : {}),
  });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

interface ChatInstruments {
  tokenUsage: Histogram;
  duration: Histogram;
}

// Instruments are per meter; caching them avoids re-registering two histograms on every call.
const instrumentCache = new WeakMap<Meter, ChatInstruments>();

function instrumentsFor(meter: Meter): ChatInstruments {
  let instruments = instrumentCache.get(meter);
  if (instruments === undefined) {
    instruments = {
      tokenUsage: meter.createHistogram(METRIC_GEN_AI_CLIENT_TOKEN_USAGE, {
        description: 'Number of input and output tokens used',
        unit: '{token}',
        advice: { explicitBucketBoundaries: [...GEN_AI_TOKEN_USAGE_BUCKETS] },
      }),
      duration: meter.createHistogram(METRIC_GEN_AI_CLIENT_OPERATION_DURATION, {
        description: 'GenAI operation duration',
        unit: 's',
        advice: { explicitBucketBoundaries: [...GEN_AI_OPERATION_DURATION_BUCKETS] },
      }),
    };
    instrumentCache.set(meter, instruments);
  }
  return instruments;
}

function recordMetrics(
  options: TracedChatOptions,
  baseAttributes: Attributes,
  latencyMs: number,
  response: ChatResponse | undefined,
  errorType: string | undefined,
): void {
  if (options.meter === undefined) return;
  safely(
    options.logger,
    () => {
      const { tokenUsage, duration } = instrumentsFor(options.meter as Meter);
      const attributes: Attributes = { ...baseAttributes };
      if (response !== undefined) attributes[ATTR_GEN_AI_RESPONSE_MODEL] = response.model;
      if (errorType !== undefined) attributes[ATTR_ERROR_TYPE] = errorType;
      duration.record(latencyMs / 1000, attributes);
      if (response !== undefined) {
        tokenUsage.record(response.usage.inputTokens, {
          ...attributes,
          [ATTR_GEN_AI_TOKEN_TYPE]: GEN_AI_TOKEN_TYPE_VALUE_INPUT,
        });
        tokenUsage.record(response.usage.outputTokens, {
          ...attributes,
          [ATTR_GEN_AI_TOKEN_TYPE]: GEN_AI_TOKEN_TYPE_VALUE_OUTPUT,
        });
      }
    },
    undefined,
  );
}

const redactorCache = new WeakMap<ContentCaptureOptions, Redactor>();

function redactorFor(capture: ContentCaptureOptions): Redactor {
  let redactor = redactorCache.get(capture);
  if (redactor === undefined) {
    redactor = createRedactor(capture);
    redactorCache.set(capture, redactor);
  }
  return redactor;
}

/** Telemetry never breaks execution: a failure building attributes or metrics is logged and skipped. */
function safely<T>(logger: Logger | undefined, fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch (error) {
    logger?.warn({ err: error }, 'recording chat telemetry failed');
    return fallback;
  }
}
