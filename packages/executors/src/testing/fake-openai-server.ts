import { createHash } from 'node:crypto';
import {
  approxTokens,
  type FakeHttpResponse,
  FakeJsonServer,
  type RecordedRequest,
  retryHeaders,
} from './fake-json-server.ts';

export interface FakeOpenAiServerOptions {
  /** When set, requests without `Authorization: Bearer <apiKey>` get OpenAI's 401. */
  apiKey?: string;
  /** Dimension of `/v1/embeddings` vectors when the request names none (default 16). */
  embeddingDimensions?: number;
}

/** One scripted chat completion. Token counts default to ~4 characters per token. */
export interface FakeChatCompletion {
  text?: string | null;
  toolCalls?: { id?: string; name: string; arguments: unknown }[];
  /** Default: `tool_calls` when there are tool calls, else `stop`. */
  finishReason?: string;
  /** Default: the requested model. */
  model?: string;
  id?: string;
  usage?: {
    promptTokens?: number;
    completionTokens?: number;
    cachedTokens?: number;
    cacheWriteTokens?: number;
    reasoningTokens?: number;
  };
  /** Extra response headers. */
  headers?: Record<string, string>;
}

export interface FakeOpenAiErrorOptions {
  /** `retry-after` header: seconds, or an HTTP date. */
  retryAfter?: number | string;
  /** `retry-after-ms` header. */
  retryAfterMs?: number;
  message?: string;
  type?: string;
  code?: string | null;
}

/**
 * A fake of OpenAI's API speaking its wire format: `POST /v1/chat/completions` (text and tool calls, usage
 * with `prompt_tokens_details` / `completion_tokens_details`), `POST /v1/embeddings` (deterministic unit
 * vectors, float or base64 encoding, usage), and OpenAI's error JSON. Use `baseUrl` as the client's base URL.
 */
export class FakeOpenAiServer extends FakeJsonServer {
  readonly #options: FakeOpenAiServerOptions;

  constructor(options: FakeOpenAiServerOptions = {}) {
    super();
    this.#options = options;
  }

  /** `<url>/v1`, what OpenAI clients take as their base URL. */
  get baseUrl(): string {
    return `${this.url}/v1`;
  }

  /** Chat requests received (`POST /v1/chat/completions`). */
  get chatRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path === '/v1/chat/completions');
  }

  /** Answers the next request with this completion. */
  queueCompletion(script: FakeChatCompletion): this {
    return this.enqueue((request) => completionResponse(request, script));
  }

  /** Answers the next request with an OpenAI error. */
  failNext(status: number, options: FakeOpenAiErrorOptions = {}): this {
    return this.enqueue(openAiError(status, options));
  }

  protected override defaultResponse(request: RecordedRequest): FakeHttpResponse {
    const key = this.#options.apiKey;
    if (key !== undefined && request.headers.authorization !== `Bearer ${key}`) {
      return openAiError(401, {
        message: 'Incorrect API key provided.',
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      });
    }
    if (request.method === 'POST' && request.path === '/v1/chat/completions')
      return completionResponse(request, {});
    if (request.method === 'POST' && request.path === '/v1/embeddings') {
      return embeddingsResponse(request, this.#options.embeddingDimensions ?? 16);
    }
    return openAiError(404, {
      message: `Unknown route ${request.method} ${request.path}`,
      type: 'invalid_request_error',
    });
  }
}

function defaultErrorType(status: number): string {
  if (status === 401) return 'invalid_request_error';
  if (status === 429) return 'rate_limit_exceeded';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function openAiError(status: number, options: FakeOpenAiErrorOptions = {}): FakeHttpResponse {
  return {
    status,
    headers: { 'x-request-id': `req_fake_${status}`, ...retryHeaders(options) },
    body: {
      error: {
        message: options.message ?? `fake error ${status}`,
        type: options.type ?? defaultErrorType(status),
        param: null,
        code: options.code ?? null,
      },
    },
  };
}

interface ChatBody {
  model?: string;
  messages?: { role: string; content?: unknown }[];
}

function completionResponse(request: RecordedRequest, script: FakeChatCompletion): FakeHttpResponse {
  const body = (request.body ?? {}) as ChatBody;
  const messages = body.messages ?? [];
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const toolCalls = (script.toolCalls ?? []).map((call, index) => ({
    id: call.id ?? `call_fake_${index}`,
    type: 'function',
    function: {
      name: call.name,
      arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
    },
  }));
  const text =
    script.text !== undefined
      ? script.text
      : toolCalls.length > 0
        ? null
        : `fake completion for: ${String(lastUser?.content ?? '').slice(0, 60)}`;
  const usage = script.usage ?? {};
  const promptTokens = usage.promptTokens ?? approxTokens(JSON.stringify(messages));
  const completionTokens = usage.completionTokens ?? approxTokens((text ?? '') + JSON.stringify(toolCalls));
  return {
    status: 200,
    headers: { 'x-request-id': 'req_fake_ok', ...script.headers },
    body: {
      id: script.id ?? `chatcmpl-fake-${request.rawBody.length}`,
      object: 'chat.completion',
      created: 1_790_000_000,
      model: script.model ?? body.model ?? 'fake-model',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: text,
            refusal: null,
            annotations: [],
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          },
          logprobs: null,
          finish_reason: script.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
        },
      ],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: {
          cached_tokens: usage.cachedTokens ?? 0,
          audio_tokens: 0,
          ...(usage.cacheWriteTokens === undefined ? {} : { cache_write_tokens: usage.cacheWriteTokens }),
        },
        completion_tokens_details: {
          reasoning_tokens: usage.reasoningTokens ?? 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      service_tier: 'default',
    },
  };
}

interface EmbeddingsBody {
  model?: string;
  input?: unknown;
  dimensions?: number;
  encoding_format?: 'float' | 'base64';
}

/** A deterministic unit vector per input text (same text, same vector, across runs). */
export function fakeEmbedding(text: string, dimensions: number): number[] {
  const values: number[] = [];
  let counter = 0;
  while (values.length < dimensions) {
    const digest = createHash('sha256').update(`${counter++}:${text}`).digest();
    for (let i = 0; i + 4 <= digest.length && values.length < dimensions; i += 4) {
      values.push(digest.readUInt32BE(i) / 0xffffffff - 0.5);
    }
  }
  const norm = Math.hypot(...values) || 1;
  return values.map((v) => v / norm);
}

function embeddingsResponse(request: RecordedRequest, defaultDimensions: number): FakeHttpResponse {
  const body = (request.body ?? {}) as EmbeddingsBody;
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const texts = inputs.map((input) => (typeof input === 'string' ? input : JSON.stringify(input)));
  const dimensions = body.dimensions ?? defaultDimensions;
  const promptTokens = texts.reduce((sum, text) => sum + approxTokens(text), 0);
  return {
    status: 200,
    body: {
      object: 'list',
      model: body.model ?? 'fake-embedding-model',
      data: texts.map((text, index) => {
        const vector = fakeEmbedding(text, dimensions);
        return {
          object: 'embedding',
          index,
          embedding:
            body.encoding_format === 'base64'
              ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
              : vector,
        };
      }),
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    },
  };
}
