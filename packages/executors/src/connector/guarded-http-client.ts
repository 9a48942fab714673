import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { FlowtraceAttributes, FlowtraceEvents, traceContextHeaders } from '@flowtrace/telemetry';
import { PermanentNodeError, TransientNodeError } from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import { Agent, buildConnector, type Dispatcher, interceptors } from 'undici';
import { DEFAULT_MAX_RESPONSE_BYTES } from './connector-limits.ts';
import {
  describeRefusal,
  normalizeHostname,
  SsrfBlockedError,
  SsrfPolicy,
  type SsrfPolicyOptions,
  type SsrfRefusal,
} from './ssrf-policy.ts';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has. Injectable so tests can map names to addresses. */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface GuardedHttpClientOptions extends SsrfPolicyOptions {
  /** Defaults to the system resolver (`dns.lookup` with `all: true`). */
  resolve?: HostResolver;
  /** Whole-exchange timeout (connect, redirects, headers and body) when a request sets none. Default 30 s. */
  timeoutMs?: number;
  /**
   * Response body limit (after decompression) when a request sets none, and the most a request may set
   * (a larger `maxResponseBytes` is lowered to it). Bodies are counted while they stream in and the
   * connection is dropped at the limit. Default 5 MiB.
   */
  maxResponseBytes?: number;
  /** Redirects followed before failing. Default 5. */
  maxRedirects?: number;
  /** TCP/TLS connect timeout. Default 10 s. */
  connectTimeoutMs?: number;
  /** Sent when the request has no `user-agent` header. */
  userAgent?: string;
  /**
   * Inject W3C trace-context headers itself (`traceparent`, `tracestate`, `baggage`), for processes that
   * do not run the undici instrumentation (the SDK is off). Off by default: the instrumentation injects
   * them for its CLIENT span, and injecting here as well would send them twice.
   */
  propagateTraceContext?: boolean;
}

export interface GuardedRequest {
  method: string;
  url: string | URL;
  headers?: Readonly<Record<string, string>>;
  body?: string | Uint8Array | null;
  /**
   * Header names carrying secrets (credential headers). They are dropped when a redirect leaves the
   * original origin, like `authorization` and `cookie` always are.
   */
  sensitiveHeaders?: readonly string[];
  /**
   * The credential whose headers the request carries (they must be in `headers`). Every hop, the first
   * and each redirect, must be a destination it `allows`, else the request fails with its `refusal`
   * before connecting; across origins it allows, its headers are kept.
   */
  credential?: RequestCredential;
  timeoutMs?: number;
  /** At most the client's `maxResponseBytes`, which also applies when this is unset. */
  maxResponseBytes?: number;
  signal?: AbortSignal;
}

/** What the client needs of a credential (see `CredentialGrant`). */
export interface RequestCredential {
  /** Lower-cased names of the credential's headers. */
  headerNames: readonly string[];
  allows(url: URL): boolean;
  refusal(url: URL): Error;
}

export interface GuardedResponse {
  status: number;
  /** Every response header, lower-cased; repeated headers joined with `, ` (except set-cookie, dropped). */
  headers: Record<string, string>;
  /** Null for HEAD requests and bodiless statuses. */
  body: Buffer | null;
  /** The URL that produced this response, after redirects. */
  url: string;
  redirects: number;
}

export const DEFAULT_CONNECTOR_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
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
const ALWAYS_SENSITIVE = ['authorization', 'cookie', 'proxy-authorization'];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Outbound HTTP with an SSRF guard. Every connection goes through a dedicated undici `Agent` whose
 * connector refuses blocked IP literals and resolves names with a lookup that checks EVERY resolved
 * address before handing them to the socket, so the socket connects to an address that was checked
 * (no time-of-check/time-of-use gap, no DNS rebinding). Redirects are followed by hand, each hop
 * re-checked. Requests go through undici's diagnostics channels, so `@opentelemetry/instrumentation-undici`
 * (when the SDK runs) opens the CLIENT span and injects `traceparent`.
 *
 * Throws `PermanentNodeError('connector_blocked')` for refused destinations (the reason is also
 * recorded on the active span), `PermanentNodeError('connector_error')` for bad requests, oversized
 * responses and redirect loops, `TransientNodeError('connector_error')` for timeouts and network errors,
 * and the signal's reason when the caller's signal aborts. HTTP error statuses are returned, not thrown.
 */
export class GuardedHttpClient {
  readonly policy: SsrfPolicy;
  readonly #agent: Agent;
  /** The agent with response decompression (undici's interceptor). */
  readonly #dispatcher: Dispatcher;
  readonly #resolve: HostResolver;
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #maxRedirects: number;
  readonly #userAgent: string;
  readonly #propagate: boolean;

  constructor(options: GuardedHttpClientOptions = {}) {
    this.policy = new SsrfPolicy(options);
    this.#resolve = options.resolve ?? systemResolver;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_CONNECTOR_TIMEOUT_MS;
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    this.#userAgent = options.userAgent ?? 'flowtrace-connector';
    this.#propagate = options.propagateTraceContext ?? false;
    const baseConnect = buildConnector({
      lookup: this.#guardedLookup(),
      timeout: options.connectTimeoutMs ?? 10_000,
    });
    this.#agent = new Agent({
      connect: (opts, callback) => {
        // IP literals never reach `lookup`, so they are checked here; names are checked after resolution.
        const verdict = this.policy.checkHostname(opts.hostname);
        if (typeof verdict === 'object') {
          callback(new SsrfBlockedError(verdict), null);
          return;
        }
        baseConnect(opts, callback);
      },
    });
    // Decompression (gzip, deflate, br, zstd, and chains of them) is undici's. Error responses are decoded
    // too: their bodies become node errors and outputs. `maxSize` (per stage) stays off because the limit
    // is per request and must name the node's setting: `readLimited` counts the decoded bytes as they
    // stream in and drops the connection at the limit, and backpressure keeps every stage of a chain
    // from decoding ahead of that count.
    this.#dispatcher = this.#agent.compose(interceptors.decompress({ skipErrorResponses: false }));
  }

  /** Performs one request, following redirects. See the class comment for the errors it throws. */
  async request(req: GuardedRequest): Promise<GuardedResponse> {
    const timeoutMs = req.timeoutMs ?? this.#timeoutMs;
    const maxBytes = Math.min(req.maxResponseBytes ?? this.#maxResponseBytes, this.#maxResponseBytes);
    const timeoutSignal = AbortSignal.timeout(timeoutMs);
    const signal = req.signal === undefined ? timeoutSignal : AbortSignal.any([req.signal, timeoutSignal]);
    const sensitive = new Set([
      ...ALWAYS_SENSITIVE,
      ...(req.sensitiveHeaders ?? []).map((h) => h.toLowerCase()),
    ]);

    let url = parseUrl(req.url);
    let method = req.method.toUpperCase();
    let headers = prepareHeaders(req.headers ?? {}, this.#userAgent);
    if (this.#propagate) Object.assign(headers, traceContextHeaders());
    let body = req.body ?? null;
    const originalOrigin = url.origin;
    const credentialHeaders = pickHeaders(headers, req.credential?.headerNames ?? []);

    try {
      for (let redirects = 0; ; redirects++) {
        this.#checkUrl(url);
        if (req.credential !== undefined && !req.credential.allows(url)) throw req.credential.refusal(url);
        const response = await this.#dispatcher.request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: method as 'GET',
          headers,
          body,
          signal,
          // The overall signal bounds the exchange; these stop undici's 300 s defaults from outliving it.
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        const location = response.headers.location;
        if (REDIRECT_STATUSES.has(response.statusCode) && typeof location === 'string' && location !== '') {
          await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
          if (redirects >= this.#maxRedirects) {
            throw new PermanentNodeError(
              'connector_error',
              `${req.method} ${redactUrl(req.url)}: more than ${this.#maxRedirects} redirects`,
            );
          }
          const next = parseUrl(new URL(location, url).toString());
          if (
            response.statusCode === 303 ||
            ((response.statusCode === 301 || response.statusCode === 302) && method === 'POST')
          ) {
            if (method !== 'HEAD') method = 'GET';
            body = null;
            headers = omitHeaders(headers, new Set(['content-type']));
          }
          // Other secrets stay with their origin; the credential follows only to hosts it allows (checked above).
          if (next.origin !== originalOrigin)
            headers = { ...omitHeaders(headers, sensitive), ...credentialHeaders };
          url = next;
          continue;
        }
        const bodyless = method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304;
        let buffer: Buffer | null = null;
        if (bodyless) await response.body.dump().catch(() => undefined);
        else buffer = await readLimited(response.body, response.headers, maxBytes, url);
        return {
          status: response.statusCode,
          headers: flattenHeaders(response.headers),
          body: buffer,
          url: url.toString(),
          redirects,
        };
      }
    } catch (error) {
      throw this.#translate(error, { method, url, timeoutMs, timedOut: timeoutSignal.aborted, req });
    }
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await this.#agent.close();
  }

  #checkUrl(url: URL): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new SsrfBlockedError({
        hostname: url.hostname,
        address: null,
        rule: `scheme "${url.protocol.replace(/:$/, '')}" (only http and https)`,
        cidr: null,
      });
    }
    if (url.username !== '' || url.password !== '') {
      throw new PermanentNodeError(
        'connector_error',
        `URL ${redactUrl(url)} carries user info; use a named credential instead`,
      );
    }
    const verdict = this.policy.checkHostname(url.hostname);
    if (typeof verdict === 'object') throw new SsrfBlockedError(verdict);
  }

  #guardedLookup(): LookupFunction {
    return (hostname, options, callback) => {
      this.#resolveChecked(hostname).then(
        (addresses) => {
          const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
          const usable = wanted === 0 ? addresses : addresses.filter((a) => a.family === wanted);
          if (options.all) {
            callback(null, usable);
            return;
          }
          const first = usable[0];
          if (first === undefined) callback(notFound(hostname), '', 0);
          else callback(null, first.address, first.family);
        },
        (error: NodeJS.ErrnoException) => callback(error, '', 0),
      );
    };
  }

  async #resolveChecked(hostname: string): Promise<ResolvedAddress[]> {
    const addresses = await this.#resolve(hostname);
    if (addresses.length === 0) throw notFound(hostname);
    for (const { address } of addresses) {
      const refusal = this.policy.checkAddress(address, hostname);
      if (refusal !== null) throw new SsrfBlockedError(refusal);
    }
    return addresses;
  }

  #translate(
    error: unknown,
    where: { method: string; url: URL; timeoutMs: number; timedOut: boolean; req: GuardedRequest },
  ): unknown {
    const refusal = findRefusal(error);
    if (refusal !== null) {
      recordRefusal(refusal);
      return new PermanentNodeError('connector_blocked', describeRefusal(refusal), {
        details: {
          host: refusal.hostname,
          ...(refusal.address === null ? {} : { address: refusal.address }),
          rule: refusal.rule,
          ...(refusal.cidr === null ? {} : { cidr: refusal.cidr }),
        },
      });
    }
    if (error instanceof PermanentNodeError || error instanceof TransientNodeError) return error;
    const target = `${where.method} ${redactUrl(where.url)}`;
    if (where.timedOut) {
      return new TransientNodeError(
        'connector_error',
        `${target}: no complete response within ${where.timeoutMs} ms`,
        {
          details: { timeoutMs: where.timeoutMs },
        },
      );
    }
    if (where.req.signal?.aborted) return where.req.signal.reason ?? error;
    const code = errorCode(error);
    if (code === 'UND_ERR_INVALID_ARG' || code === 'ERR_INVALID_URL' || code === 'ERR_INVALID_ARG_TYPE') {
      return new PermanentNodeError(
        'connector_error',
        `${target}: invalid request (${(error as Error).message})`,
      );
    }
    const message = error instanceof Error ? error.message : String(error);
    return new TransientNodeError('connector_error', `${target}: request failed (${code ?? message})`, {
      cause: error,
      details: code === undefined ? {} : { errorCode: code },
    });
  }
}

/** Records a refusal on the active span (the node's span, or the agent's tool span). */
function recordRefusal(refusal: SsrfRefusal): void {
  const span = trace.getActiveSpan();
  if (span === undefined) return;
  const reason = describeRefusal(refusal);
  const attributes = {
    [FlowtraceAttributes.CONNECTOR_BLOCKED_REASON]: reason,
    [FlowtraceAttributes.CONNECTOR_BLOCKED_RULE]: refusal.rule,
    [FlowtraceAttributes.CONNECTOR_BLOCKED_HOST]: refusal.hostname,
    ...(refusal.address === null ? {} : { [FlowtraceAttributes.CONNECTOR_BLOCKED_ADDRESS]: refusal.address }),
  };
  span.addEvent(FlowtraceEvents.CONNECTOR_BLOCKED, attributes);
  span.setAttributes(attributes);
}

function findRefusal(error: unknown): SsrfRefusal | null {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const current = queue.shift();
    if (current === null || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    if (current instanceof SsrfBlockedError) return current.refusal;
    // autoSelectFamily reports per-address failures as an AggregateError.
    if (current instanceof AggregateError) queue.push(...current.errors);
    if ('cause' in current) queue.push((current as { cause: unknown }).cause);
  }
  return null;
}

async function readLimited(
  body: Readable,
  headers: Record<string, string | string[] | undefined>,
  maxBytes: number,
  url: URL,
): Promise<Buffer> {
  const tooLarge = (): PermanentNodeError =>
    new PermanentNodeError(
      'connector_error',
      `response from ${redactUrl(url)} exceeds the ${maxBytes}-byte limit (the node's maxResponseBytes, at most the worker's FLOWTRACE_CONNECTOR_MAX_RESPONSE_BYTES); the rest was not read`,
      {
        details: { maxResponseBytes: maxBytes },
      },
    );
  // The decompress interceptor drops `content-length` from a body it decodes: one that is left is the
  // length of the bytes read here.
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      total += buf.length;
      if (total > maxBytes) throw tooLarge();
      chunks.push(buf);
    }
  } catch (error) {
    body.destroy();
    throw error;
  }
  return Buffer.concat(chunks, total);
}

function prepareHeaders(input: Readonly<Record<string, string>>, userAgent: string): Record<string, string> {
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

function pickHeaders(headers: Record<string, string>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => names.includes(name)));
}

function omitHeaders(headers: Record<string, string>, names: ReadonlySet<string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.has(name)));
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === 'set-cookie') continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function parseUrl(input: string | URL): URL {
  try {
    return new URL(input);
  } catch {
    throw new PermanentNodeError(
      'connector_error',
      `"${truncate(String(input), 200)}" is not an absolute URL`,
    );
  }
}

/** The URL without query string or user info, for messages: queries often carry tokens. */
export function redactUrl(input: string | URL): string {
  try {
    const url = new URL(input);
    return `${url.protocol}//${url.host}${url.pathname}${url.search === '' ? '' : '?…'}`;
  } catch {
    return truncate(String(input), 200);
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function errorCode(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

function notFound(hostname: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
  error.code = 'ENOTFOUND';
  return error;
}

async function systemResolver(hostname: string): Promise<ResolvedAddress[]> {
  const results = await dnsLookup(normalizeHostname(hostname), { all: true, verbatim: true });
  return results.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));
}
