/**
 * The few SigNoz API calls provisioning needs, authenticated with the `SIGNOZ-API-KEY` header:
 *
 * - dashboards (v1 format, what the released UI imports): `GET /api/v1/dashboards` →
 *   `{status, data: [{id, data: {title, …}, …}]}`; `POST /api/v1/dashboards` with the dashboard JSON as the
 *   body; `PUT /api/v1/dashboards/{id}` with the same body;
 * - alert rules: `GET /api/v2/rules` → `{status, data: {rules: [{id, alert, …}], total}}` (paged with
 *   `limit`/`offset`; some versions answer a plain array); `POST /api/v2/rules` → 201 `{status, data: {id}}`;
 *   `PUT /api/v2/rules/{id}` → 204.
 *
 * Errors keep what a person needs to act on: which URL could not be reached, that the API key was refused,
 * or SigNoz's own error message with the status.
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
  constructor(code: SignozErrorCode, message: string, status?: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
  /** Every later call would fail the same way: stop instead of reporting each item. */
  get fatal(): boolean {
    return this.code === 'SIGNOZ_UNREACHABLE' || this.code === 'SIGNOZ_UNAUTHORIZED';
  }
}

export interface SignozItem {
  id: string;
  name: string;
}

/** What provisioning needs from SigNoz; tests may supply their own. */
export interface SignozApi {
  listDashboards(): Promise<SignozItem[]>;
  createDashboard(body: unknown): Promise<{ id: string | undefined }>;
  updateDashboard(id: string, body: unknown): Promise<void>;
  listRules(): Promise<SignozItem[]>;
  createRule(body: unknown): Promise<{ id: string | undefined }>;
  updateRule(id: string, body: unknown): Promise<void>;
}

export interface SignozClientOptions {
  /** Base URL of SigNoz (the UI's origin, e.g. `http://localhost:8080`), without `/api`. */
  baseUrl: string;
  apiKey: string;
  timeoutMs?: number;
  /** Page size for `GET /api/v2/rules` (SigNoz clamps it to 5000 and defaults to 20). */
  rulesPageSize?: number;
}

export interface SignozClientDeps {
  fetch?: typeof fetch;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** SigNoz wraps answers as `{status: "success", data}`. */
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

export class SignozClient implements SignozApi {
  readonly #baseUrl: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #rulesPageSize: number;
  readonly #fetch: typeof fetch;

  constructor(options: SignozClientOptions, deps: SignozClientDeps = {}) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#rulesPageSize = options.rulesPageSize ?? 500;
    this.#fetch = deps.fetch ?? fetch;
  }

  async #request(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = `${this.#baseUrl}${path}`;
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
        `the API key was refused by SigNoz at ${this.#baseUrl} (HTTP ${response.status} on ${call}: ` +
          `${errorMessage(parsed, text)}); check SIGNOZ_API_KEY` +
          (response.status === 403 ? ' and that its role may edit dashboards and alerts' : ''),
        response.status,
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

  #items(data: unknown, call: string, nameOf: (item: Json) => unknown): SignozItem[] {
    if (!Array.isArray(data)) {
      throw new SignozError(
        'SIGNOZ_UNEXPECTED_RESPONSE',
        `${call}: expected a list, got ${JSON.stringify(data)}`,
      );
    }
    return data.filter(isObject).flatMap((item) => {
      const id = item.id ?? item.uuid;
      const name = nameOf(item);
      return (typeof id === 'string' || typeof id === 'number') && typeof name === 'string'
        ? [{ id: String(id), name }]
        : [];
    });
  }

  #createdId(data: unknown): { id: string | undefined } {
    const id = isObject(data) ? (data.id ?? data.uuid) : undefined;
    return { id: typeof id === 'string' || typeof id === 'number' ? String(id) : undefined };
  }

  async listDashboards(): Promise<SignozItem[]> {
    const data = await this.#request('GET', '/api/v1/dashboards');
    return this.#items(data ?? [], 'GET /api/v1/dashboards', (item) =>
      isObject(item.data) ? item.data.title : undefined,
    );
  }

  async createDashboard(body: unknown): Promise<{ id: string | undefined }> {
    return this.#createdId(await this.#request('POST', '/api/v1/dashboards', body));
  }

  async updateDashboard(id: string, body: unknown): Promise<void> {
    await this.#request('PUT', `/api/v1/dashboards/${encodeURIComponent(id)}`, body);
  }

  async listRules(): Promise<SignozItem[]> {
    const rules: SignozItem[] = [];
    for (let offset = 0; ; ) {
      const path = `/api/v2/rules?limit=${this.#rulesPageSize}&offset=${offset}`;
      const data = await this.#request('GET', path);
      // Older servers answer every rule as a plain list and ignore limit/offset.
      if (Array.isArray(data) || data === undefined || data === null) {
        return this.#items(data ?? [], `GET ${path}`, (item) => item.alert);
      }
      if (!isObject(data) || !Array.isArray(data.rules)) {
        throw new SignozError(
          'SIGNOZ_UNEXPECTED_RESPONSE',
          `GET ${path}: expected {rules: [...]}, got ${JSON.stringify(data).slice(0, 200)}`,
        );
      }
      rules.push(...this.#items(data.rules, `GET ${path}`, (item) => item.alert));
      offset += data.rules.length;
      if (typeof data.total !== 'number' || data.rules.length === 0 || offset >= data.total) return rules;
    }
  }

  async createRule(body: unknown): Promise<{ id: string | undefined }> {
    return this.#createdId(await this.#request('POST', '/api/v2/rules', body));
  }

  async updateRule(id: string, body: unknown): Promise<void> {
    await this.#request('PUT', `/api/v2/rules/${encodeURIComponent(id)}`, body);
  }
}
