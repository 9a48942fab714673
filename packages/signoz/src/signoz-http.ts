/**
 * One HTTP call to SigNoz's API, authenticated with the `SIGNOZ-API-KEY` header, answered as SigNoz's
 * `{status, data}` envelope unwrapped. Errors keep what a person needs to act on: which URL could not be
 * reached, that the API key was refused, or SigNoz's own error message (and its `error.code`) with the
 * status.
 */

export type SignozErrorCode =
  | 'SIGNOZ_UNREACHABLE'
  | 'SIGNOZ_UNAUTHORIZED'
  | 'SIGNOZ_REQUEST_FAILED'
  | 'SIGNOZ_UNEXPECTED_RESPONSE';

export class SignozError extends Error {
  override name = 'SignozError';
  readonly code: SignozErrorCode;
  readonly status: number | undefined;
  /** SigNoz's own `error.code` (`dashboard_deprecated`, `not_found`, …) when its answer had one. */
  readonly signozCode: string | undefined;
  constructor(code: SignozErrorCode, message: string, status?: number, signozCode?: string) {
    super(message);
    this.code = code;
    this.status = status;
    this.signozCode = signozCode;
  }
  /** Every later call would fail the same way: stop instead of reporting each item. */
  get fatal(): boolean {
    return this.code === 'SIGNOZ_UNREACHABLE' || this.code === 'SIGNOZ_UNAUTHORIZED';
  }
}

export type Json = Record<string, unknown>;
export const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** SigNoz wraps answers as `{status: "success", data}`; a few endpoints (the version) answer bare JSON. */
function unwrap(body: unknown): unknown {
  return isObject(body) && 'data' in body && typeof body.status === 'string' ? body.data : body;
}

function errorMessage(body: unknown, text: string): string {
  if (isObject(body)) {
    const { error } = body;
    if (isObject(error) && typeof error.message === 'string') return error.message;
    if (typeof error === 'string') return error;
    if (typeof body.message === 'string') return body.message;
  }
  return text.trim().slice(0, 300) || '(empty body)';
}

function errorCode(body: unknown): string | undefined {
  const error = isObject(body) ? body.error : undefined;
  return isObject(error) && typeof error.code === 'string' ? error.code : undefined;
}

function unreachableReason(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return 'no answer in time';
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
      return 'connection reset';
    default:
      return cause?.message ?? (error as Error).message;
  }
}

export interface SignozHttpOptions {
  /** Base URL of SigNoz (the UI's origin, e.g. `http://localhost:8080`), without `/api`. */
  baseUrl: string;
  apiKey: string;
  timeoutMs?: number;
}

export interface SignozHttpDeps {
  fetch?: typeof fetch;
}

export class SignozHttp {
  readonly baseUrl: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: SignozHttpOptions, deps: SignozHttpDeps = {}) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#fetch = deps.fetch ?? fetch;
  }

  /** Sends one request; resolves with the unwrapped `data` (undefined for an empty answer). */
  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers: {
          'SIGNOZ-API-KEY': this.#apiKey,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new SignozError(
        'SIGNOZ_UNREACHABLE',
        `cannot reach SigNoz at ${url} (${unreachableReason(error)}): check SIGNOZ_URL and that SigNoz is running`,
      );
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const call = `${method} ${path}`;
    if (response.status === 401 || response.status === 403) {
      throw new SignozError(
        'SIGNOZ_UNAUTHORIZED',
        `the API key was refused by SigNoz at ${this.baseUrl} (HTTP ${response.status} on ${call}: ` +
          `${errorMessage(parsed, text)}); check SIGNOZ_API_KEY` +
          (response.status === 403 ? ' and that its role may edit dashboards and alerts' : ''),
        response.status,
        errorCode(parsed),
      );
    }
    if (!response.ok) {
      const hint =
        response.status === 404 || response.status === 405
          ? ' (this SigNoz version may not have this endpoint)'
          : '';
      throw new SignozError(
        'SIGNOZ_REQUEST_FAILED',
        `SigNoz answered HTTP ${response.status} to ${call}${hint}: ${errorMessage(parsed, text)}`,
        response.status,
        errorCode(parsed),
      );
    }
    if (text !== '' && parsed === undefined) {
      // The UI's server answers unknown routes with its HTML page and a 200.
      throw new SignozError(
        'SIGNOZ_UNEXPECTED_RESPONSE',
        `SigNoz answered ${call} with something other than JSON (${response.headers.get('content-type') ?? 'no content type'}); ` +
          'is SIGNOZ_URL the SigNoz base URL, and does this version have the endpoint?',
        response.status,
      );
    }
    return unwrap(parsed);
  }
}

/** The `id` of a created item (`{id}`; older answers carry `uuid`). */
export function idOf(data: unknown): string | undefined {
  const id = isObject(data) ? (data.id ?? data.uuid) : undefined;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

export function unexpected(call: string, expected: string, got: unknown): SignozError {
  return new SignozError(
    'SIGNOZ_UNEXPECTED_RESPONSE',
    `${call}: expected ${expected}, got ${JSON.stringify(got)?.slice(0, 200)}`,
  );
}
