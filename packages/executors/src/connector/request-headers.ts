import { PermanentNodeError } from '@flowtrace/workflow';

/** Headers the transport owns; a workflow setting them could desynchronise or misroute the request. */
const FORBIDDEN_REQUEST_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
  'proxy-authorization',
  'expect',
  // The trace context is propagated by the instrumentation; a second traceparent would break the trace.
  'traceparent',
  'tracestate',
]);
/** Dropped from every request whose redirect leaves the original origin, whatever the request declares. */
export const ALWAYS_SENSITIVE = ['authorization', 'cookie', 'proxy-authorization'];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * A workflow's request headers, lower-cased and checked: valid names, none the transport owns, no line
 * break or NUL in a value; `user-agent` filled in when missing.
 */
export function prepareHeaders(
  input: Readonly<Record<string, string>>,
  userAgent: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(input)) {
    const name = rawName.toLowerCase();
    if (!TOKEN.test(name)) {
      throw new PermanentNodeError('connector_error', `header name "${rawName}" is not a valid HTTP token`);
    }
    if (FORBIDDEN_REQUEST_HEADERS.has(name)) {
      throw new PermanentNodeError(
        'connector_error',
        `header "${name}" is set by the HTTP client and may not be set by a workflow; remove it`,
      );
    }
    if (/[\r\n\0]/.test(value)) {
      throw new PermanentNodeError(
        'connector_error',
        `header "${name}" contains a line break or NUL character`,
      );
    }
    out[name] = value;
  }
  if (out['user-agent'] === undefined) out['user-agent'] = userAgent;
  return out;
}

export function pickHeaders(
  headers: Record<string, string>,
  names: readonly string[],
): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => names.includes(name)));
}

export function omitHeaders(
  headers: Record<string, string>,
  names: ReadonlySet<string>,
): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.has(name)));
}

/** Response headers as one string each, lower-cased; repeated ones joined with `, `, set-cookie dropped. */
export function flattenHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === 'set-cookie') continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
