import type {
  AgentStep,
  ApiErrorBody,
  ReplayAccepted,
  RunDetail,
  RunEvents,
  RunFilters,
  RunList,
} from './types.ts';

/** An API answer other than 2xx, with the API's error code and message. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly code: string;

  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.status = status;
    this.code = body.code;
  }
}

export interface ApiClientOptions {
  apiKey: string;
  /** Where the API is; the page's own origin by default. */
  baseUrl?: string;
  /** Called on a 401: the page forgets the key and asks for one again. */
  onUnauthorized?: () => void;
}

/** The viewer's calls to the `/v1` API, with the API key as a bearer token. */
export class ApiClient {
  readonly #key: string;
  readonly #baseUrl: string;
  readonly #onUnauthorized: () => void;

  constructor(options: ApiClientOptions) {
    this.#key = options.apiKey;
    this.#baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    this.#onUnauthorized = options.onUnauthorized ?? (() => {});
  }

  /** The absolute (or same-origin) URL of an API path. */
  url(path: string): string {
    return `${this.#baseUrl}${path}`;
  }

  /** Authorization and any extra headers for a request (the event stream sets its own). */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.#key}`, ...extra };
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const response = await fetch(this.url(path), {
      method,
      headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(signal ? { signal } : {}),
    });
    return this.read<T>(response);
  }

  /** Parses a response, turning an error body (or a non-JSON failure) into an `ApiError`. */
  async read<T>(response: Response): Promise<T> {
    const text = await response.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: a proxy's error page, for instance.
    }
    if (response.ok) return json as T;
    if (response.status === 401) this.#onUnauthorized();
    const error = (json as { error?: ApiErrorBody } | null)?.error;
    throw new ApiError(
      response.status,
      error?.code && error.message
        ? error
        : {
            code: `http_${response.status}`,
            message: `the API answered ${response.status} ${response.statusText}`,
          },
    );
  }

  listRuns(filters: RunFilters, cursor: string | null, signal?: AbortSignal): Promise<RunList> {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(filters)) if (value) query.set(name, value);
    if (cursor) query.set('cursor', cursor);
    query.set('limit', '50');
    return this.request('GET', `/v1/runs?${query}`, undefined, signal);
  }

  getRun(runId: string, signal?: AbortSignal): Promise<RunDetail> {
    return this.request('GET', `/v1/runs/${encodeURIComponent(runId)}`, undefined, signal);
  }

  listEvents(runId: string, after: number, signal?: AbortSignal): Promise<RunEvents> {
    return this.request(
      'GET',
      `/v1/runs/${encodeURIComponent(runId)}/events?after=${after}&limit=1000`,
      undefined,
      signal,
    );
  }

  async listSteps(runId: string, signal?: AbortSignal): Promise<AgentStep[]> {
    const body = await this.request<{ steps: AgentStep[] }>(
      'GET',
      `/v1/runs/${encodeURIComponent(runId)}/steps`,
      undefined,
      signal,
    );
    return body.steps;
  }

  replay(runId: string, fromNodes?: string[]): Promise<ReplayAccepted> {
    return this.request(
      'POST',
      `/v1/runs/${encodeURIComponent(runId)}/replay`,
      fromNodes && fromNodes.length > 0 ? { fromNodes } : {},
    );
  }
}
