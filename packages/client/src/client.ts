import { apiError, FlowtraceTimeoutError, ServerError } from './errors.ts';
import { readSse } from './sse.ts';
import type {
  IngestRequest,
  IngestResult,
  ListRunsFilter,
  ReplayAccepted,
  ReplayRequest,
  Run,
  RunAccepted,
  RunCancelled,
  RunEvent,
  RunEventPage,
  RunList,
  RunListItem,
  RunSteps,
  SubmitRunRequest,
  TenantLimitsInput,
  TenantLimitsView,
  Usage,
  UsageQuery,
  Workflow,
  WorkflowDefinitionInput,
} from './types.ts';

export interface FlowtraceClientOptions {
  /** The API's base URL, e.g. `http://localhost:3000`. */
  baseUrl: string;
  /** A bearer key from `npm run apikey`. */
  apiKey: string;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** Sent with every request (e.g. a `traceparent` to put runs in your trace). */
  headers?: Record<string, string>;
  /**
   * How many times a request answered 503 (the API's database or Redis unavailable, e.g. restarting) is
   * made again, after the answer's `Retry-After` (at most 10 s): reads, `PUT`s, and submissions and replays
   * that carry an `idempotencyKey`, which a retry cannot apply twice. Default 2; 0 turns retries off.
   */
  retries?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Extra headers for this request. */
  headers?: Record<string, string>;
}

export interface StreamEventsOptions extends RequestOptions {
  /** Start after this `seq` (default: from the run's first event). */
  after?: number;
  /** Reconnect and resume (`Last-Event-ID`) when the connection drops (default true). */
  reconnect?: boolean;
  /** Give up after this many failed connections in a row (default 10). */
  maxReconnects?: number;
  /** First delay before reconnecting, doubled up to 5 s (default 250 ms). */
  reconnectDelayMs?: number;
}

export interface WaitForRunOptions extends RequestOptions {
  /** Default 5 minutes; then `FlowtraceTimeoutError`. */
  timeoutMs?: number;
}

const TERMINAL_EVENTS = new Set(['run.completed', 'run.failed', 'run.cancelled']);
const TERMINAL_STATUSES = new Set(['completed', 'failed', 'cancelled']);

/**
 * A typed client of the flowtrace API. Every method returns the JSON the server documents (types inferred
 * from the server's schemas) or throws a `FlowtraceApiError` subclass carrying the API's error code.
 */
export class FlowtraceClient {
  readonly #baseUrl: string;
  readonly #apiKey: string;
  readonly #fetch: typeof fetch;
  readonly #headers: Record<string, string>;
  readonly #retries: number;

  constructor(options: FlowtraceClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#headers = options.headers ?? {};
    this.#retries = Math.max(0, options.retries ?? 2);
  }

  /** Registers a definition: a new version (`created`), or the latest one when it is unchanged. */
  async registerWorkflow(
    definition: WorkflowDefinitionInput,
    options: RequestOptions = {},
  ): Promise<Workflow & { created: boolean }> {
    const { body, status } = await this.#json<Workflow>('POST', '/v1/workflows', definition, options);
    return { ...body, created: status === 201 };
  }

  async getWorkflow(workflowId: string, options: RequestOptions = {}): Promise<Workflow> {
    return (await this.#json<Workflow>('GET', `/v1/workflows/${enc(workflowId)}`, undefined, options)).body;
  }

  /** Starts a run. `replayed` is true when an idempotency key returned an earlier run. */
  async submitRun(
    request: SubmitRunRequest,
    options: RequestOptions = {},
  ): Promise<RunAccepted & { replayed: boolean }> {
    const { body, headers } = await this.#json<RunAccepted>('POST', '/v1/runs', request, options);
    return { ...body, replayed: headers.get('idempotent-replayed') === 'true' };
  }

  async getRun(runId: string, options: RequestOptions = {}): Promise<Run> {
    return (await this.#json<Run>('GET', `/v1/runs/${enc(runId)}`, undefined, options)).body;
  }

  /** One page of the tenant's runs, newest first; pass `nextCursor` as `cursor` for the next. */
  async listRuns(filter: ListRunsFilter = {}, options: RequestOptions = {}): Promise<RunList> {
    const query = new URLSearchParams();
    if (filter.status !== undefined)
      query.set('status', typeof filter.status === 'string' ? filter.status : filter.status.join(','));
    if (filter.workflowId) query.set('workflowId', filter.workflowId);
    if (filter.workflowName) query.set('workflowName', filter.workflowName);
    if (filter.createdAfter) query.set('createdAfter', isoOf(filter.createdAfter));
    if (filter.createdBefore) query.set('createdBefore', isoOf(filter.createdBefore));
    if (filter.cursor) query.set('cursor', filter.cursor);
    if (filter.limit !== undefined) query.set('limit', String(filter.limit));
    const suffix = query.size > 0 ? `?${query}` : '';
    return (await this.#json<RunList>('GET', `/v1/runs${suffix}`, undefined, options)).body;
  }

  /** Every run matching the filter, page after page. */
  async *iterateRuns(filter: ListRunsFilter = {}, options: RequestOptions = {}): AsyncGenerator<RunListItem> {
    let cursor = filter.cursor;
    do {
      const page = await this.listRuns({ ...filter, ...(cursor ? { cursor } : {}) }, options);
      yield* page.runs;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /** A page of the run's events after `after` (a `seq`); `nextAfter` continues. */
  async listEvents(
    runId: string,
    page: { after?: number; limit?: number } = {},
    options: RequestOptions = {},
  ): Promise<RunEventPage> {
    const query = new URLSearchParams({ after: String(page.after ?? 0) });
    if (page.limit !== undefined) query.set('limit', String(page.limit));
    return (
      await this.#json<RunEventPage>('GET', `/v1/runs/${enc(runId)}/events?${query}`, undefined, options)
    ).body;
  }

  async getRunSteps(runId: string, options: RequestOptions = {}): Promise<RunSteps> {
    return (await this.#json<RunSteps>('GET', `/v1/runs/${enc(runId)}/steps`, undefined, options)).body;
  }

  async cancelRun(runId: string, options: RequestOptions = {}): Promise<RunCancelled> {
    return (await this.#json<RunCancelled>('POST', `/v1/runs/${enc(runId)}/cancel`, undefined, options)).body;
  }

  /** Replays a finished run from its failed and cancelled nodes, or from `fromNodes`. */
  async replayRun(
    runId: string,
    request: ReplayRequest = {},
    options: RequestOptions = {},
  ): Promise<ReplayAccepted & { replayed: boolean }> {
    const { body, headers } = await this.#json<ReplayAccepted>(
      'POST',
      `/v1/runs/${enc(runId)}/replay`,
      request,
      options,
    );
    return { ...body, replayed: headers.get('idempotent-replayed') === 'true' };
  }

  /**
   * The run's events as they commit, in order, ending after its terminal event. A dropped connection is
   * resumed from the last event received (`Last-Event-ID`), so nothing is missed or repeated.
   */
  async *streamEvents(runId: string, options: StreamEventsOptions = {}): AsyncGenerator<RunEvent> {
    const reconnect = options.reconnect ?? true;
    const maxReconnects = options.maxReconnects ?? 10;
    let delayMs = options.reconnectDelayMs ?? 250;
    let after = options.after ?? 0;
    let failures = 0;
    const retry = async (error: unknown): Promise<void> => {
      failures++;
      if (!reconnect || failures > maxReconnects || options.signal?.aborted) throw error;
      await sleep(delayMs, options.signal);
      delayMs = Math.min(delayMs * 2, 5_000);
    };
    for (;;) {
      let response: Response;
      try {
        response = await this.#fetch(`${this.#baseUrl}/v1/runs/${enc(runId)}/events/stream`, {
          headers: {
            ...this.#requestHeaders(options),
            accept: 'text/event-stream',
            ...(after > 0 ? { 'last-event-id': String(after) } : {}),
          },
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (error) {
        if (options.signal?.aborted) return;
        await retry(error);
        continue;
      }
      if (!response.ok || !response.body) {
        const error = apiError(response.status, await response.json().catch(() => null));
        if (!(error instanceof ServerError)) throw error;
        await retry(error);
        continue;
      }
      let received = 0;
      try {
        for await (const message of readSse(response.body)) {
          if (message.id === undefined) continue;
          const event = JSON.parse(message.data) as RunEvent;
          after = event.seq;
          received++;
          failures = 0;
          yield event;
          if (TERMINAL_EVENTS.has(event.type)) return;
        }
      } catch (error) {
        if (options.signal?.aborted) return;
        await retry(error);
        continue;
      }
      // Ended without the terminal event. With nothing sent, the run may have ended before `after`.
      if (received === 0 && TERMINAL_STATUSES.has((await this.getRun(runId, options)).status)) return;
      await retry(
        new ServerError(503, { code: 'dependency_unavailable', message: 'the event stream ended' }),
      );
    }
  }

  /** Adds documents to a RAG collection (created on first use); unchanged documents are no-ops. */
  async ingestDocuments(
    collection: string,
    request: IngestRequest,
    options: RequestOptions = {},
  ): Promise<IngestResult> {
    const path = `/v1/collections/${enc(collection)}/documents`;
    return (await this.#json<IngestResult>('POST', path, request, options)).body;
  }

  /** The tenant's budgets and quotas in effect, who set them, and its spend and tokens this day and month. */
  async getTenantLimits(options: RequestOptions = {}): Promise<TenantLimitsView> {
    return (await this.#json<TenantLimitsView>('GET', '/v1/tenant/limits', undefined, options)).body;
  }

  /** Replaces the tenant's own limits (each at most the operator's; a 400 names any that is above). */
  async setTenantLimits(limits: TenantLimitsInput, options: RequestOptions = {}): Promise<TenantLimitsView> {
    return (await this.#json<TenantLimitsView>('PUT', '/v1/tenant/limits', limits, options)).body;
  }

  /** The tenant's model calls, tokens and USD by UTC day, workflow, provider and model (or `groupBy`). */
  async getUsage(query: UsageQuery = {}, options: RequestOptions = {}): Promise<Usage> {
    const params = new URLSearchParams();
    if (query.from !== undefined) params.set('from', query.from);
    if (query.to !== undefined) params.set('to', query.to);
    if (query.groupBy !== undefined) params.set('groupBy', query.groupBy.join(','));
    const search = params.size > 0 ? `?${params}` : '';
    return (await this.#json<Usage>('GET', `/v1/usage${search}`, undefined, options)).body;
  }

  /** Resolves with the run once it is completed, failed or cancelled (following its live events). */
  async waitForRun(runId: string, options: WaitForRunOptions = {}): Promise<Run> {
    const timeoutMs = options.timeoutMs ?? 300_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const run = await this.getRun(runId, { ...options, signal });
    if (TERMINAL_STATUSES.has(run.status)) return run;
    try {
      for await (const event of this.streamEvents(runId, { ...options, signal })) {
        if (TERMINAL_EVENTS.has(event.type)) break;
      }
    } catch (error) {
      if (!timeout.aborted) throw error;
    }
    if (timeout.aborted) throw new FlowtraceTimeoutError(runId, timeoutMs);
    options.signal?.throwIfAborted();
    return this.getRun(runId, options);
  }

  #requestHeaders(options: RequestOptions): Record<string, string> {
    return { ...this.#headers, ...options.headers, authorization: `Bearer ${this.#apiKey}` };
  }

  async #json<T>(
    method: string,
    path: string,
    body: unknown,
    options: RequestOptions,
  ): Promise<{ body: T; status: number; headers: Headers }> {
    const retryable =
      method === 'GET' ||
      method === 'PUT' ||
      (typeof body === 'object' && body !== null && 'idempotencyKey' in body && Boolean(body.idempotencyKey));
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#jsonOnce<T>(method, path, body, options);
      } catch (error) {
        if (!retryable || attempt >= this.#retries || !(error instanceof ServerError) || error.status !== 503)
          throw error;
        options.signal?.throwIfAborted();
        await sleep(error.retryAfterMs ?? 500, options.signal);
        options.signal?.throwIfAborted();
      }
    }
  }

  async #jsonOnce<T>(
    method: string,
    path: string,
    body: unknown,
    options: RequestOptions,
  ): Promise<{ body: T; status: number; headers: Headers }> {
    const response = await this.#fetch(`${this.#baseUrl}${path}`, {
      method,
      headers: {
        ...this.#requestHeaders(options),
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      if (response.ok)
        throw new ServerError(response.status, { code: 'internal_error', message: 'invalid JSON' });
    }
    if (!response.ok) throw apiError(response.status, parsed, retryAfterMs(response.headers));
    return { body: parsed as T, status: response.status, headers: response.headers };
  }
}

const enc = encodeURIComponent;

/** The `Retry-After` of an answer (seconds, or an HTTP date), in milliseconds, at most 10 s. */
function retryAfterMs(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
  return Number.isFinite(seconds) ? Math.min(10_000, Math.max(0, seconds * 1000)) : undefined;
}

function isoOf(value: Date | string): string {
  return typeof value === 'string' ? value : value.toISOString();
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
