import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the fake server received it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  /** Lower-cased header names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The parsed JSON body, or the raw text when it is not JSON (undefined when empty). */
  body: unknown;
  rawBody: string;
}

/** A scripted HTTP answer. */
export interface FakeHttpResponse {
  status?: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings as they are. */
  body?: unknown;
  /** Wait before answering (for timeout and abort tests). */
  delayMs?: number;
  /** Destroy the connection instead of answering (a connection error on the client). */
  dropConnection?: boolean;
}

/** Produces the answer to one request; `undefined` falls through to the server's default. */
export type FakeHandler = (
  request: RecordedRequest,
) => FakeHttpResponse | undefined | Promise<FakeHttpResponse | undefined>;

/**
 * A real `node:http` server on 127.0.0.1 with an ephemeral port, for provider tests. Each request is
 * answered by, in order: the next scripted entry (a FIFO shared by all routes), the handler set with
 * `setHandler`, then the subclass's default for the route. Every request is recorded.
 */
export abstract class FakeJsonServer {
  /** Every request received, oldest first. */
  readonly requests: RecordedRequest[] = [];
  /**
   * Requests whose answer was written out in full, in the order they finished: what a provider bills
   * (a request held with `delayMs` whose client went away is received but never answered).
   */
  readonly answered: RecordedRequest[] = [];
  readonly #queue: FakeHandler[] = [];
  #handler: FakeHandler | undefined;
  #server: Server | undefined;
  #url: string | undefined;

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    if (this.#url === undefined) throw new Error('fake server not started');
    return this.#url;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      void this.#handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    this.#server = server;
    this.#url = `http://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Answers the next request (any route) with this response or handler. */
  enqueue(response: FakeHttpResponse | FakeHandler): this {
    this.#queue.push(typeof response === 'function' ? response : () => response);
    return this;
  }

  /** Consulted after the scripted queue; return `undefined` to use the default answer. */
  setHandler(handler: FakeHandler | undefined): this {
    this.#handler = handler;
    return this;
  }

  /** Drops the next request's connection without an answer. */
  dropNext(): this {
    return this.enqueue({ dropConnection: true });
  }

  /** Scripted answers not consumed yet. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Forgets recorded requests, scripted answers and the handler. */
  reset(): void {
    this.requests.length = 0;
    this.answered.length = 0;
    this.#queue.length = 0;
    this.#handler = undefined;
  }

  /** The most recent request (throws when none arrived). */
  lastRequest(): RecordedRequest {
    const last = this.requests.at(-1);
    if (last === undefined) throw new Error('no request received');
    return last;
  }

  /** The route's answer when nothing is scripted. */
  protected abstract defaultResponse(request: RecordedRequest): FakeHttpResponse | Promise<FakeHttpResponse>;

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const recorded = await record(req);
      this.requests.push(recorded);
      const scripted = this.#queue.shift();
      const response =
        (scripted ? await scripted(recorded) : undefined) ??
        (this.#handler ? await this.#handler(recorded) : undefined) ??
        (await this.defaultResponse(recorded));
      if (response.delayMs) await waitOrClose(response.delayMs, res);
      if (res.destroyed) return;
      if (response.dropConnection) {
        req.socket.destroy();
        return;
      }
      const isText = typeof response.body === 'string';
      const payload =
        response.body === undefined ? '' : isText ? (response.body as string) : JSON.stringify(response.body);
      res.writeHead(response.status ?? 200, {
        'content-type': isText ? 'text/plain' : 'application/json',
        ...response.headers,
      });
      res.end(payload, () => {
        this.answered.push(recorded);
      });
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `fake server failure: ${(error as Error).message}` } }));
    }
  }
}

async function record(req: IncomingMessage): Promise<RecordedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const rawBody = Buffer.concat(chunks).toString('utf8');
  let body: unknown;
  if (rawBody.length > 0) {
    try {
      body = JSON.parse(rawBody);
    } catch {
      body = rawBody;
    }
  }
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers,
    body,
    rawBody,
  };
}

/** Waits, but stops early when the client goes away (an aborted request). */
function waitOrClose(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    res.once('close', done);
    function done(): void {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    }
  });
}

/** Rough token count used by the fake servers (~4 characters per token). */
export function approxTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** `Retry-After` headers for error helpers. */
export function retryHeaders(options: {
  retryAfter?: number | string;
  retryAfterMs?: number;
}): Record<string, string> {
  const headers: Record<string, string> = {};
  if (options.retryAfter !== undefined) headers['retry-after'] = String(options.retryAfter);
  if (options.retryAfterMs !== undefined) headers['retry-after-ms'] = String(options.retryAfterMs);
  return headers;
}
