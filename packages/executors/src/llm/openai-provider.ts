import {
  GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI,
  GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
} from '@flowtrace/telemetry/semconv';
import type { JsonValue, Logger } from '@flowtrace/workflow';
import { PermanentNodeError } from '@flowtrace/workflow';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, OpenAIError } from 'openai';
import type {
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
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
  type OpenAiChatCompletionReply,
  openAiChatCompletionSchema,
  parseProviderReply,
  unparseableReply,
} from './provider-replies.ts';
import { sdkLogger } from './sdk-logger.ts';
import { traceContextHeaders } from './trace-headers.ts';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

export interface OpenAiCompatibleProviderOptions {
  /** The provider's name in the worker configuration, used in error messages. */
  name: string;
  /** Defaults to OpenAI's API. Azure OpenAI, Ollama, vLLM, LiteLLM: their OpenAI-compatible `/v1` URL. */
  baseUrl?: string | undefined;
  /** Servers that need no key (a local Ollama) may omit it. */
  apiKey?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** Per-request timeout in ms (the SDK's default is 10 minutes). */
  timeoutMs?: number | undefined;
  /** Most bytes of one reply, read while it streams in (default 16 MiB). */
  maxResponseBytes?: number | undefined;
  /** `gen_ai.provider.name`; defaults to `azure.ai.openai` for `*.openai.azure.com`, else `openai`. */
  genAiProviderName?: string | undefined;
  /**
   * The request field carrying `maxTokens`. OpenAI deprecated `max_tokens` (reasoning models reject it);
   * some older OpenAI-compatible servers only know `max_tokens`.
   */
  maxTokensParam?: 'max_completion_tokens' | 'max_tokens' | undefined;
  /** Inject `traceparent` itself (see `traceContextHeaders`); off when the undici instrumentation runs. */
  propagateTraceContext?: boolean | undefined;
  logger?: Logger | undefined;
}

/**
 * Chat Completions through the official `openai` SDK, for OpenAI and every server that speaks its API.
 * The SDK's own retries are off (`maxRetries: 0`): the engine owns retries and their backoff.
 */
export class OpenAiCompatibleProvider implements ChatProvider {
  readonly genAiProviderName: string;
  readonly server: { address: string; port: number } | undefined;
  readonly supportsTemperature = true;
  readonly #client: OpenAI;
  readonly #name: string;
  readonly #secrets: string[];
  readonly #maxTokensParam: 'max_completion_tokens' | 'max_tokens';
  readonly #propagate: boolean;

  constructor(options: OpenAiCompatibleProviderOptions) {
    const baseUrl = options.baseUrl ?? OPENAI_DEFAULT_BASE_URL;
    this.#name = options.name;
    this.#secrets = options.apiKey ? [options.apiKey] : [];
    this.#maxTokensParam = options.maxTokensParam ?? 'max_completion_tokens';
    this.#propagate = options.propagateTraceContext ?? false;
    this.server = serverFromBaseUrl(baseUrl);
    this.genAiProviderName =
      options.genAiProviderName ??
      (this.server?.address.endsWith('.openai.azure.com')
        ? GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI
        : GEN_AI_PROVIDER_NAME_VALUE_OPENAI);
    this.#client = new OpenAI({
      baseURL: baseUrl,
      // Every setting is explicit so that the SDK reads nothing from OPENAI_* environment variables: keys
      // and URLs come from our configuration only. A keyless server still gets a (meaningless) bearer.
      apiKey: options.apiKey ?? 'no-key-configured',
      organization: null,
      project: null,
      adminAPIKey: null,
      webhookSecret: null,
      maxRetries: 0,
      fetch: limitedFetch(options.maxResponseBytes ?? DEFAULT_MAX_REPLY_BYTES),
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
      ...(options.headers === undefined ? {} : { defaultHeaders: options.headers }),
      ...(options.logger === undefined
        ? { logLevel: 'off' as const }
        : { logLevel: 'warn' as const, logger: sdkLogger(options.logger, options.name) }),
    });
  }

  async chat(request: ChatRequest, options: ChatCallOptions = {}): Promise<ChatResponse> {
    const body = this.#toRequestBody(request);
    let completion: unknown;
    try {
      completion = await this.#client.chat.completions.create(body, {
        signal: options.signal ?? null,
        ...(this.#propagate ? { headers: traceContextHeaders() } : {}),
      });
    } catch (error) {
      rethrowIfAbortedOrNodeError(error, options.signal);
      throw this.#mapError(error);
    }
    return this.#fromCompletion(
      parseProviderReply(openAiChatCompletionSchema, completion, {
        provider: this.#name,
        what: 'chat completion',
      }),
    );
  }

  #toRequestBody(request: ChatRequest): ChatCompletionCreateParamsNonStreaming {
    const body: ChatCompletionCreateParamsNonStreaming = {
      model: request.model,
      messages: request.messages.map(toOpenAiMessage),
    };
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (request.maxTokens !== undefined) body[this.#maxTokensParam] = request.maxTokens;
    if (request.tools !== undefined && request.tools.length > 0) {
      body.tools = request.tools.map((tool) => ({
        type: 'function' as const,
        function: { name: tool.name, description: tool.description, parameters: tool.parameters },
      }));
    }
    if (request.responseFormat !== undefined) {
      body.response_format = {
        type: 'json_schema',
        json_schema: {
          name: request.responseFormat.name,
          schema: request.responseFormat.schema,
          strict: true,
        },
      };
    }
    return body;
  }

  #fromCompletion(completion: OpenAiChatCompletionReply): ChatResponse {
    // The schema guarantees at least one choice.
    const choice = completion.choices[0] as OpenAiChatCompletionReply['choices'][number];
    const toolCalls: ChatToolCall[] = [];
    for (const call of choice.message.tool_calls ?? []) {
      if (call.function !== undefined) {
        toolCalls.push({
          id: call.id,
          name: call.function.name,
          arguments: parseArguments(call.function.arguments),
        });
      } else if (call.custom !== undefined) {
        toolCalls.push({ id: call.id, name: call.custom.name, arguments: call.custom.input });
      }
    }
    const usage = completion.usage;
    const raw = choice.finish_reason ?? null;
    return {
      id: completion.id,
      model: completion.model,
      message: { text: choice.message.content ?? null, toolCalls },
      finishReason: normalizeFinishReason(raw),
      providerFinishReason: raw,
      usage: {
        inputTokens: usage?.prompt_tokens ?? 0,
        outputTokens: usage?.completion_tokens ?? 0,
        cachedInputTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
        cacheCreationInputTokens: usage?.prompt_tokens_details?.cache_write_tokens ?? 0,
        reasoningTokens: usage?.completion_tokens_details?.reasoning_tokens ?? 0,
      },
    };
  }

  #mapError(error: unknown): Error {
    const tooLarge = replyTooLarge(this.#name, error);
    if (tooLarge !== null) return tooLarge;
    if (error instanceof SyntaxError) return unparseableReply(this.#name, 'chat completion', error);
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
          providerErrorType: error.type ?? (typeof error.code === 'string' ? error.code : null),
          requestId: error.requestID,
          message: error.message,
          cause: error,
        },
        this.#secrets,
      );
    }
    if (error instanceof OpenAIError) {
      // Raised before any request went out (bad client settings): retrying cannot help.
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

function toOpenAiMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return { role: 'user', content: message.content };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        ...(message.toolCalls !== undefined && message.toolCalls.length > 0
          ? {
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                type: 'function' as const,
                function: {
                  name: call.name,
                  arguments:
                    typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
                },
              })),
            }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

function parseArguments(raw: string | Record<string, unknown> | undefined): JsonValue {
  if (raw === undefined) return {};
  if (typeof raw !== 'string') return raw as JsonValue;
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw) as JsonValue;
  } catch {
    return raw;
  }
}

function normalizeFinishReason(raw: string | null): ChatFinishReason {
  switch (raw) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'other';
  }
}
