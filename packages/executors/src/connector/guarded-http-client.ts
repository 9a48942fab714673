import { traceContextHeaders } from '@flowtrace/telemetry';
import { PermanentNodeError } from '@flowtrace/workflow';
import { Agent, buildConnector, type Dispatcher, interceptors } from 'undici';
import { DEFAULT_MAX_RESPONSE_BYTES } from './connector-limits.ts';
import { parseUrl, redactUrl } from './connector-url.ts';
import { guardedLookup, type HostResolver, systemResolver } from './guarded-lookup.ts';
import { readLimited } from './read-limited.ts';
import {
  ALWAYS_SENSITIVE,
  flattenHeaders,
  omitHeaders,
  pickHeaders,
  prepareHeaders,
} from './request-headers.ts';
import { SsrfBlockedError, SsrfPolicy, type SsrfPolicyOptions } from './ssrf-policy.ts';
import { translateRequestError } from './translate-request-error.ts';

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
  credential?: RequestCredential | undefined;
  timeoutMs?: number | undefined;
  /** At most the client's `maxResponseBytes`, which also applies when this is unset. */
  maxResponseBytes?: number | undefined;
  signal?: AbortSignal | undefined;
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
      lookup: guardedLookup(this.policy, this.#resolve),
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
      throw translateRequestError(error, {
        method,
        url,
        timeoutMs,
        timedOut: timeoutSignal.aborted,
        signal: req.signal,
      });
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
}
