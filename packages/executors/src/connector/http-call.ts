import { FlowtraceAttributes } from '@flowtrace/telemetry';
import {
  type FlowtraceError,
  type JsonValue,
  limitJsonDepth,
  PermanentNodeError,
  renderJsonTemplate,
  renderTemplate,
  renderUrlTemplate,
  type TemplateScope,
  TransientNodeError,
} from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import { redactSecrets } from '../redaction/redactor.ts';
import { redactUrl } from './connector-url.ts';
import type { CredentialStore } from './credentials.ts';
import type { GuardedHttpClient, GuardedResponse } from './guarded-http-client.ts';

/** What a connector node or an agent's HTTP tool asks for; strings are templates. */
export interface HttpCallSpec {
  method: string;
  url: string;
  headers?: Readonly<Record<string, string>> | undefined;
  query?: Readonly<Record<string, string>> | undefined;
  /** A string template (sent as text) or a JSON value whose strings are templates (sent as JSON). */
  body?: unknown;
  /** Name of a configured credential whose headers are added at send time (to its hosts only). */
  credential?: string | undefined;
  timeoutMs?: number | undefined;
  maxResponseBytes?: number | undefined;
  responseType?: 'json' | 'text' | 'auto' | undefined;
}

export interface RenderedHttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

/** A connector's output: the status, a safe subset of response headers, and the parsed body. */
export interface HttpCallResult {
  status: number;
  headers: Record<string, string>;
  body: JsonValue;
  [key: string]: JsonValue;
}

export interface HttpCallDeps {
  http: GuardedHttpClient;
  credentials: CredentialStore;
}

/** Response headers returned to workflows; cookies, auth challenges and server internals are left out. */
const SAFE_RESPONSE_HEADERS = new Set([
  'content-type',
  'content-length',
  'content-language',
  'content-disposition',
  'etag',
  'last-modified',
  'cache-control',
  'expires',
  'date',
  'location',
  'retry-after',
  'x-request-id',
  'request-id',
  'x-correlation-id',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
]);

/**
 * Renders method, URL, query, headers and body against the scope. JSON bodies get
 * `content-type: application/json`, string bodies `text/plain`, unless the spec sets a content type.
 * The URL template fixes scheme, host and port; values are percent-encoded into its path, query or
 * fragment (`renderUrlTemplate`). Headers and bodies get values as they are.
 */
export function renderHttpRequest(
  spec: HttpCallSpec,
  scope: TemplateScope,
  where: { nodeId?: string | undefined } = {},
): RenderedHttpRequest {
  const method = renderTemplate(spec.method, scope, where).toUpperCase();
  const url = new URL(renderUrlTemplate(spec.url, scope, where));
  for (const [name, template] of Object.entries(spec.query ?? {})) {
    url.searchParams.append(name, renderTemplate(template, scope, where));
  }
  const headers: Record<string, string> = {};
  for (const [name, template] of Object.entries(spec.headers ?? {})) {
    headers[name.toLowerCase()] = renderTemplate(template, scope, where);
  }
  let body: string | null = null;
  if (typeof spec.body === 'string') {
    body = renderTemplate(spec.body, scope, where);
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (spec.body !== undefined) {
    body = JSON.stringify(renderJsonTemplate(spec.body, scope, where));
    headers['content-type'] ??= 'application/json';
  }
  return { method, url: url.toString(), headers, body };
}

/**
 * Renders and sends one request through the guarded client, with the named credential's headers added
 * last (they win over workflow headers of the same name). The credential must be one the node's tenant
 * may use, and every hop's host one of its hosts, else the node fails with `credential_not_allowed`
 * before the headers leave. Returns any status; use `httpStatusError` to turn error statuses into node
 * errors.
 */
export async function performHttpCall(
  deps: HttpCallDeps,
  spec: HttpCallSpec,
  scope: TemplateScope,
  options: { signal?: AbortSignal | undefined; nodeId?: string | undefined; tenantId?: string | undefined },
): Promise<{ result: HttpCallResult; request: RenderedHttpRequest; response: GuardedResponse }> {
  const where = { nodeId: options.nodeId };
  const grant =
    spec.credential === undefined
      ? undefined
      : deps.credentials.grant(spec.credential, { ...where, tenantId: options.tenantId });
  const request = renderHttpRequest(spec, scope, where);
  const credentialHeaders = grant?.headers ?? {};
  if (grant !== undefined) {
    trace.getActiveSpan()?.setAttribute(FlowtraceAttributes.CONNECTOR_CREDENTIAL, grant.name);
  }
  const response = await deps.http.request({
    method: request.method,
    url: request.url,
    headers: { ...request.headers, ...credentialHeaders },
    body: request.body,
    sensitiveHeaders: Object.keys(credentialHeaders),
    ...(grant === undefined
      ? {}
      : {
          credential: {
            headerNames: Object.keys(credentialHeaders),
            allows: (url: URL) => grant.allows(url),
            refusal: (url: URL) => grant.refusal(url, where),
          },
        }),
    timeoutMs: spec.timeoutMs,
    maxResponseBytes: spec.maxResponseBytes,
    signal: options.signal,
  });
  const body = parseBody(response, spec.responseType ?? 'auto', request.method);
  const result: HttpCallResult = { status: response.status, headers: safeHeaders(response.headers), body };
  return { result, request, response };
}

/**
 * Maps an error status to a node error: 408, 429 and 5xx are transient (with the server's
 * `Retry-After`), other 4xx permanent; 2xx and 3xx are not errors. Secrets are redacted from the
 * body excerpt in the message.
 */
export function httpStatusError(
  result: HttpCallResult,
  request: { method: string; url: string },
  options: { secrets?: readonly string[]; nodeId?: string | undefined; now?: number } = {},
): FlowtraceError | null {
  const { status } = result;
  if (status < 400) return null;
  const excerpt = bodyExcerpt(result.body, options.secrets ?? []);
  const message = `${request.method} ${redactUrl(request.url)} returned HTTP ${status}${excerpt === '' ? '' : `: ${excerpt}`}`;
  const base = { nodeId: options.nodeId, details: { status } };
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(result.headers['retry-after'], options.now ?? Date.now());
    return new TransientNodeError('connector_error', message, { ...base, retryAfterMs });
  }
  return new PermanentNodeError('connector_error', message, base);
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP date; undefined when absent or invalid. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function parseBody(
  response: GuardedResponse,
  responseType: 'json' | 'text' | 'auto',
  method: string,
): JsonValue {
  if (response.body === null) return null;
  const text = new TextDecoder('utf-8').decode(response.body);
  const contentType = response.headers['content-type'] ?? '';
  const looksJson = /[/+]json\b/i.test(contentType);
  if (responseType === 'text') return text;
  if (responseType === 'auto' && !looksJson) return text;
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    if (responseType === 'auto' || response.status >= 400) return text;
    throw new PermanentNodeError(
      'connector_error',
      `${method} ${redactUrl(response.url)} returned a body that is not JSON (content-type "${contentType}"); set responseType to "text" or "auto"`,
    );
  }
}

function safeHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => SAFE_RESPONSE_HEADERS.has(name)));
}

function bodyExcerpt(body: JsonValue, secrets: readonly string[]): string {
  if (body === null) return '';
  const text = typeof body === 'string' ? body : JSON.stringify(limitJsonDepth(body));
  const flat = text.replace(/\s+/g, ' ').trim();
  return redactSecrets(flat.length > 300 ? `${flat.slice(0, 300)}…` : flat, secrets);
}
