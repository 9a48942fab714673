import {
  approxTokens,
  type FakeHttpResponse,
  FakeJsonServer,
  type RecordedRequest,
  retryHeaders,
} from './fake-json-server.ts';

export interface FakeAnthropicServerOptions {
  /** When set, requests without this key (`x-api-key`, or `Authorization: Bearer`) get a 401. */
  apiKey?: string;
}

/** One scripted Messages API answer. Token counts default to ~4 characters per token. */
export interface FakeAnthropicMessage {
  text?: string | null;
  toolUses?: { id?: string; name: string; input: unknown }[];
  /** Default: `tool_use` when there are tool uses, else `end_turn`. */
  stopReason?: string;
  model?: string;
  id?: string;
  usage?: {
    inputTokens?: number;
    outputTokens?: number;
    cacheReadInputTokens?: number;
    cacheCreationInputTokens?: number;
    thinkingTokens?: number;
  };
  headers?: Record<string, string>;
}

export interface FakeAnthropicErrorOptions {
  retryAfter?: number | string;
  retryAfterMs?: number;
  message?: string;
  /** Default from the status: invalid_request_error, authentication_error, rate_limit_error, ... */
  type?: string;
}

/**
 * A fake of Anthropic's Messages API: `POST /v1/messages` answering with `text` / `tool_use` content
 * blocks, `stop_reason`, and usage with cache read/creation tokens; errors in Anthropic's
 * `{ type: "error", error: { type, message } }` format. Use `url` as the client's base URL.
 */
export class FakeAnthropicServer extends FakeJsonServer {
  readonly #options: FakeAnthropicServerOptions;

  constructor(options: FakeAnthropicServerOptions = {}) {
    super();
    this.#options = options;
  }

  /** Messages requests received. */
  get messageRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path === '/v1/messages');
  }

  queueMessage(script: FakeAnthropicMessage): this {
    return this.enqueue((request) => messageResponse(request, script));
  }

  failNext(status: number, options: FakeAnthropicErrorOptions = {}): this {
    return this.enqueue(anthropicError(status, options));
  }

  protected override defaultResponse(request: RecordedRequest): FakeHttpResponse {
    const key = this.#options.apiKey;
    if (
      key !== undefined &&
      request.headers['x-api-key'] !== key &&
      request.headers.authorization !== `Bearer ${key}`
    ) {
      return anthropicError(401, { message: 'invalid x-api-key' });
    }
    if (request.method === 'POST' && request.path === '/v1/messages') return messageResponse(request, {});
    return anthropicError(404, { message: `Unknown route ${request.method} ${request.path}` });
  }
}

function defaultErrorType(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

export function anthropicError(status: number, options: FakeAnthropicErrorOptions = {}): FakeHttpResponse {
  const requestId = `req_fake_${status}`;
  return {
    status,
    headers: { 'request-id': requestId, ...retryHeaders(options) },
    body: {
      type: 'error',
      error: {
        type: options.type ?? defaultErrorType(status),
        message: options.message ?? `fake error ${status}`,
      },
      request_id: requestId,
    },
  };
}

interface MessagesBody {
  model?: string;
  messages?: { role: string; content?: unknown }[];
  system?: unknown;
}

function messageResponse(request: RecordedRequest, script: FakeAnthropicMessage): FakeHttpResponse {
  const body = (request.body ?? {}) as MessagesBody;
  const toolUses = (script.toolUses ?? []).map((use, index) => ({
    type: 'tool_use',
    id: use.id ?? `toolu_fake_${index}`,
    name: use.name,
    input: use.input,
    caller: { type: 'direct' },
  }));
  const lastUser = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
  const lastText =
    typeof lastUser?.content === 'string' ? lastUser.content : JSON.stringify(lastUser?.content ?? '');
  const text =
    script.text !== undefined
      ? script.text
      : toolUses.length > 0
        ? null
        : `fake message for: ${lastText.slice(0, 60)}`;
  const content = [...(text === null ? [] : [{ type: 'text', text, citations: null }]), ...toolUses];
  const usage = script.usage ?? {};
  const inputTokens =
    usage.inputTokens ?? approxTokens(JSON.stringify([body.system ?? '', body.messages ?? []]));
  const outputTokens = usage.outputTokens ?? approxTokens(JSON.stringify(content));
  return {
    status: 200,
    headers: { 'request-id': 'req_fake_ok', ...script.headers },
    body: {
      id: script.id ?? `msg_fake_${request.rawBody.length}`,
      type: 'message',
      role: 'assistant',
      model: script.model ?? body.model ?? 'fake-model',
      content,
      container: null,
      diagnostics: null,
      stop_reason: script.stopReason ?? (toolUses.length > 0 ? 'tool_use' : 'end_turn'),
      stop_sequence: null,
      stop_details: null,
      usage: {
        input_tokens: inputTokens,
        output_tokens: outputTokens,
        cache_read_input_tokens: usage.cacheReadInputTokens ?? 0,
        cache_creation_input_tokens: usage.cacheCreationInputTokens ?? 0,
        cache_creation: null,
        inference_geo: null,
        output_tokens_details:
          usage.thinkingTokens === undefined ? null : { thinking_tokens: usage.thinkingTokens },
        server_tool_use: null,
        service_tier: 'standard',
        speed: null,
      },
    },
  };
}
