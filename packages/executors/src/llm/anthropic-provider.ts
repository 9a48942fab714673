import Anthropic, {
  AnthropicError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
} from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  MessageCreateParamsNonStreaming,
  MessageParam,
  Tool,
} from '@anthropic-ai/sdk/resources/messages';
import { GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC } from '@flowtrace/telemetry/semconv';
import type { JsonValue, Logger } from '@flowtrace/workflow';
import { PermanentNodeError } from '@flowtrace/workflow';
import { DEFAULT_MAX_REPLY_BYTES, limitedFetch, replyTooLarge } from './limited-fetch.ts';
import type {
  ChatCallOptions,
  ChatFinishReason,
  ChatMessage,
  ChatProvider,
  ChatRequest,
  ChatResponse,
  ChatToolCall,
} from './provider.ts';
import { serverFromBaseUrl } from './provider.ts';
import {
  describeConnectionError,
  mapProviderFailure,
  rethrowIfAbortedOrNodeError,
  scrubSecrets,
} from './provider-errors.ts';
import {
  type AnthropicMessageReply,
  anthropicMessageSchema,
  parseProviderReply,
  unparseableReply,
} from './provider-replies.ts';
import { sdkLogger } from './sdk-logger.ts';
import { traceContextHeaders } from './trace-headers.ts';

export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';
/** `max_tokens` is required by the Messages API; used when the node sets none. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

export interface AnthropicProviderOptions {
  /** The provider's name in the worker configuration, used in error messages. */
  name: string;
  baseUrl?: string | undefined;
  apiKey: string;
  headers?: Record<string, string> | undefined;
  /** Per-request timeout in ms (10 minutes when unset). */
  timeoutMs?: number | undefined;
  /** Most bytes of one reply, read while it streams in (default 16 MiB). */
  maxResponseBytes?: number | undefined;
  /** `max_tokens` when the request sets none. */
  defaultMaxTokens?: number | undefined;
  genAiProviderName?: string | undefined;
  /** Inject `traceparent` itself (see `traceContextHeaders`); off when the undici instrumentation runs. */
  propagateTraceContext?: boolean | undefined;
  logger?: Logger | undefined;
}

/**
 * Anthropic's Messages API through the official SDK.
 *
 * - System messages go to the top-level `system` field; tool results become `tool_result` blocks of a
 *   user turn (consecutive ones merged, as the API wants every result of one assistant turn together).
 * - Structured output uses the Messages API's native `output_config.format` (`json_schema`), not a forced
 *   single-tool emulation: the native form constrains decoding, keeps `stop_reason` meaningful and leaves
 *   the tool list free for real tools. Models without structured-output support answer 400, which maps to
 *   a PermanentNodeError naming the model. The format's `name` has no Anthropic equivalent and is dropped.
 * - `temperature` is not sent: API version 2026-10-21 (what SDK 1.x speaks) rejects sampling parameters.
 * - The SDK's built-in OpenTelemetry spans and propagation are turned off: the chat span is ours, and
 *   the worker's undici instrumentation already propagates `traceparent`.
 */
export class AnthropicProvider implements ChatProvider {
  readonly genAiProviderName: string;
  readonly server: { address: string; port: number } | undefined;
  readonly supportsTemperature = false;
  readonly #client: Anthropic;
  readonly #name: string;
  readonly #secrets: string[];
  readonly #defaultMaxTokens: number;
  readonly #propagate: boolean;

  constructor(options: AnthropicProviderOptions) {
    const baseUrl = options.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL;
    this.#name = options.name;
    this.#secrets = [options.apiKey];
    this.#defaultMaxTokens = options.defaultMaxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS;
    this.#propagate = options.propagateTraceContext ?? false;
    this.server = serverFromBaseUrl(baseUrl);
    this.genAiProviderName = options.genAiProviderName ?? GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC;
    this.#client = new Anthropic({
      baseURL: baseUrl,
      apiKey: options.apiKey,
      webhookKey: null,
      maxRetries: 0,
      fetch: limitedFetch(options.maxResponseBytes ?? DEFAULT_MAX_REPLY_BYTES),
      // A client-level timeout also keeps the SDK from refusing large non-streaming `max_tokens` values
      // ("streaming is required"): the node's own timeout bounds the call anyway.
      timeout: options.timeoutMs ?? 600_000,
      openTelemetry: { traces: false, propagation: false },
      ...(options.headers === undefined ? {} : { defaultHeaders: options.headers }),
      ...(options.logger === undefined
        ? { logLevel: 'off' as const }
        : { logLevel: 'warn' as const, logger: sdkLogger(options.logger, options.name) }),
    });
  }

  async chat(request: ChatRequest, options: ChatCallOptions = {}): Promise<ChatResponse> {
    const body = this.#toRequestBody(request);
    let message: unknown;
    try {
      message = await this.#client.messages.create(body, {
        signal: options.signal ?? null,
        ...(this.#propagate ? { headers: traceContextHeaders() } : {}),
      });
    } catch (error) {
      rethrowIfAbortedOrNodeError(error, options.signal);
      throw this.#mapError(error);
    }
    return fromMessage(
      parseProviderReply(anthropicMessageSchema, message, { provider: this.#name, what: 'message' }),
    );
  }

  #toRequestBody(request: ChatRequest): MessageCreateParamsNonStreaming {
    const { system, messages } = toAnthropicMessages(request.messages);
    const body: MessageCreateParamsNonStreaming = {
      model: request.model,
      max_tokens: request.maxTokens ?? this.#defaultMaxTokens,
      messages,
    };
    if (system !== undefined) body.system = system;
    if (request.tools !== undefined && request.tools.length > 0) {
      body.tools = request.tools.map(
        (tool): Tool => ({
          name: tool.name,
          description: tool.description,
          input_schema: { type: 'object', ...tool.parameters } as Tool.InputSchema,
        }),
      );
    }
    if (request.responseFormat !== undefined) {
      body.output_config = { format: { type: 'json_schema', schema: request.responseFormat.schema } };
    }
    return body;
  }

  #mapError(error: unknown): Error {
    const tooLarge = replyTooLarge(this.#name, error);
    if (tooLarge !== null) return tooLarge;
    if (error instanceof SyntaxError) return unparseableReply(this.#name, 'message', error);
    if (error instanceof APIConnectionTimeoutError) {
      return mapProviderFailure(
        this.#name,
        { timeout: true, message: error.message, cause: error },
        this.#secrets,
      );
    }
    if (error instanceof APIConnectionError) {
      return mapProviderFailure(
        this.#name,
        { connection: true, message: describeConnectionError(error), cause: error },
        this.#secrets,
      );
    }
    if (error instanceof APIError && typeof error.status === 'number') {
      return mapProviderFailure(
        this.#name,
        {
          status: error.status,
          headers: error.headers,
          providerErrorType: error.type,
          requestId: error.requestID,
          message: error.apiMessage ?? error.message,
          cause: error,
        },
        this.#secrets,
      );
    }
    if (error instanceof AnthropicError) {
      return new PermanentNodeError(
        'provider_rejected',
        `provider "${this.#name}": ${scrubSecrets(error.message, this.#secrets)}`,
        { details: { provider: this.#name }, cause: error },
      );
    }
    return mapProviderFailure(
      this.#name,
      { connection: true, message: error instanceof Error ? error.message : String(error), cause: error },
      this.#secrets,
    );
  }
}

/** Splits out the system prompt and merges turns into the alternating shape the Messages API expects. */
export function toAnthropicMessages(messages: readonly ChatMessage[]): {
  system: string | undefined;
  messages: MessageParam[];
} {
  const system: string[] = [];
  const out: { role: 'user' | 'assistant'; content: ContentBlockParam[] }[] = [];
  const push = (role: 'user' | 'assistant', blocks: ContentBlockParam[]): void => {
    if (blocks.length === 0) return;
    const last = out.at(-1);
    if (last !== undefined && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        system.push(message.content);
        break;
      case 'user':
        push('user', [{ type: 'text', text: message.content }]);
        break;
      case 'assistant': {
        const blocks: ContentBlockParam[] = [];
        if (message.content !== null && message.content !== '')
          blocks.push({ type: 'text', text: message.content });
        for (const call of message.toolCalls ?? []) {
          blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: toolInput(call.arguments) });
        }
        push('assistant', blocks);
        break;
      }
      case 'tool':
        push('user', [
          {
            type: 'tool_result',
            tool_use_id: message.toolCallId,
            content: message.content,
            ...(message.isError ? { is_error: true } : {}),
          },
        ]);
        break;
    }
  }
  return { system: system.length > 0 ? system.join('\n\n') : undefined, messages: out };
}

/** `tool_use.input` must be an object; a raw (unparseable) argument string is wrapped. */
function toolInput(args: JsonValue): Record<string, JsonValue> {
  if (args !== null && typeof args === 'object' && !Array.isArray(args)) return args;
  return { input: args };
}

function fromMessage(message: AnthropicMessageReply): ChatResponse {
  const texts: string[] = [];
  const toolCalls: ChatToolCall[] = [];
  for (const block of message.content) {
    if ('text' in block && block.type === 'text') texts.push(block.text);
    else if ('name' in block && block.type === 'tool_use') {
      toolCalls.push({ id: block.id, name: block.name, arguments: (block.input ?? {}) as JsonValue });
    }
  }
  const usage = message.usage;
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const cacheCreation = usage.cache_creation_input_tokens ?? 0;
  return {
    id: message.id,
    model: message.model,
    message: { text: texts.length > 0 ? texts.join('') : null, toolCalls },
    finishReason: normalizeStopReason(message.stop_reason),
    providerFinishReason: message.stop_reason ?? null,
    usage: {
      // Anthropic's input_tokens counts only the uncached part; the GenAI convention's total includes both.
      inputTokens: usage.input_tokens + cacheRead + cacheCreation,
      outputTokens: usage.output_tokens,
      cachedInputTokens: cacheRead,
      cacheCreationInputTokens: cacheCreation,
      reasoningTokens: usage.output_tokens_details?.thinking_tokens ?? 0,
    },
  };
}

function normalizeStopReason(reason: string | null | undefined): ChatFinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other';
  }
}
