import type { JsonSchemaObject, JsonValue } from '@flowtrace/workflow';

/**
 * The provider-neutral chat interface shared by the `llm` executor and the agent loop. Providers map it
 * to their wire format and back, and map their failures to `PermanentNodeError` / `TransientNodeError`
 * (see `provider-errors.ts`); retries belong to the engine, never to a provider or its SDK.
 */

export interface ChatToolCall {
  /** The provider's id for the call; tool results refer to it with `toolCallId`. */
  id: string;
  name: string;
  /**
   * The parsed arguments. When a model emits arguments that are not valid JSON (OpenAI-compatible servers
   * send them as a string), the raw string is kept so that the caller can report it back to the model.
   */
  arguments: JsonValue;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; toolCalls?: ChatToolCall[] }
  | {
      role: 'tool';
      toolCallId: string;
      /** The tool's result, serialized (the agent loop stringifies JSON observations). */
      content: string;
      /** The tool's name, for providers and content capture that want it. */
      name?: string;
      isError?: boolean;
    };

export interface ChatToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the arguments (an object schema). */
  parameters: JsonSchemaObject;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ChatToolDefinition[];
  temperature?: number;
  maxTokens?: number;
  /** Ask for a JSON answer matching this JSON Schema. */
  responseFormat?: { name: string; schema: JsonSchemaObject };
}

/**
 * Normalized finish reason. `raw` values (`end_turn`, `tool_use`, `stop`, ...) are kept in
 * `ChatResponse.providerFinishReason` and are what the span's `gen_ai.response.finish_reasons` reports.
 */
export type ChatFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'other';

export interface ChatUsage {
  /** Every input token, cached and cache-writing ones included (the GenAI convention's meaning). */
  inputTokens: number;
  /** Every output token, reasoning ones included. */
  outputTokens: number;
  /** Input tokens read from the provider's prompt cache (part of `inputTokens`). */
  cachedInputTokens: number;
  /** Input tokens written to the provider's prompt cache (part of `inputTokens`). */
  cacheCreationInputTokens: number;
  /** Output tokens spent on reasoning (part of `outputTokens`). */
  reasoningTokens: number;
}

export interface ChatResponse {
  id: string;
  /** The model that answered, as the provider reports it (often a dated variant of the requested one). */
  model: string;
  message: { text: string | null; toolCalls: ChatToolCall[] };
  finishReason: ChatFinishReason;
  /** The provider's own finish reason, unmapped; null when it sent none. */
  providerFinishReason: string | null;
  usage: ChatUsage;
}

export interface ChatCallOptions {
  /** Aborting rejects the call with the signal's reason. */
  signal?: AbortSignal | undefined;
}

export interface ChatProvider {
  /** `gen_ai.provider.name` of the spans this provider's calls produce. */
  readonly genAiProviderName: string;
  /** `server.address` / `server.port` of those spans; absent for offline providers. */
  readonly server?: { address: string; port: number } | undefined;
  /**
   * Whether `temperature` is sent. Anthropic's Messages API version 2026-10-21 rejects sampling parameters,
   * so that provider drops it and the span does not claim it as a request setting.
   */
  readonly supportsTemperature: boolean;
  chat(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResponse>;
}

/** Zero usage, for building responses. */
export function emptyUsage(): ChatUsage {
  return {
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    cacheCreationInputTokens: 0,
    reasoningTokens: 0,
  };
}

/** `server.address` and `server.port` from a base URL (port defaulted from the scheme). */
export function serverFromBaseUrl(baseUrl: string): { address: string; port: number } | undefined {
  try {
    const url = new URL(baseUrl);
    const port = url.port === '' ? (url.protocol === 'http:' ? 80 : 443) : Number(url.port);
    // URL keeps IPv6 hosts bracketed; server.address wants the bare address.
    return { address: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
  } catch {
    return undefined;
  }
}
