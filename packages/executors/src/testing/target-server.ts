import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request the target server received. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Path with the query string, as sent. */
  url: string;
  query: Record<string, string>;
  /** Lower-cased header names, as Node parses them. */
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  remoteAddress: string | undefined;
}

/** A scripted response. A plain object or array `body` is sent as JSON, a string as text. */
export interface ScriptedResponse {
  status?: number;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer | Record<string, unknown> | unknown[] | null;
  /** Stream this many bytes (of `x`) instead of `body`, in 64 KiB chunks, without a content-length. */
  streamBytes?: number;
  /** Wait this long before sending the status line. */
  delayMs?: number;
  /** Wait this long between streamed chunks. */
  chunkDelayMs?: number;
  /** Drop the connection instead of answering. */
  destroySocket?: boolean;
}

export type Responder =
  | ScriptedResponse
  | ((req: RecordedRequest) => ScriptedResponse | Promise<ScriptedResponse>);

export interface TargetServer {
  /** `http://<host>:<port>` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Answers `method` (or `*`) requests to `path` (exact pathname). Later routes replace earlier ones. */
  on(method: string, path: string, responder: Responder): TargetServer;
  /** Answers `path` with a redirect to `location`. */
  redirect(path: string, location: string, status?: number): TargetServer;
  /** Clears routes and recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

/**
 * A real HTTP server on loopback for connector and provider tests: it records each request (method,
 * path, headers, body) and answers from a script (status codes, redirects, large and slow bodies,
 * dropped connections). Unrouted requests get 404 `{"error":"no route"}`.
 */
export async function startTargetServer(options: { host?: string } = {}): Promise<TargetServer> {
  const host = options.host ?? '127.0.0.1';
  const routes = new Map<string, Responder>();
  const requests: RecordedRequest[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const parsed = new URL(req.url ?? '/', 'http://target.invalid');
      const body = Buffer.concat(chunks);
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: parsed.pathname,
        url: req.url ?? '/',
        query: Object.fromEntries(parsed.searchParams),
        headers: req.headers,
        body,
        text: body.toString('utf8'),
        remoteAddress: req.socket.remoteAddress,
      };
      requests.push(recorded);
      const responder = routes.get(`${recorded.method} ${recorded.path}`) ?? routes.get(`* ${recorded.path}`);
      respond(responder, recorded, res).catch(() => res.destroy());
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  const target: TargetServer = {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    requests,
    on(method, path, responder) {
      routes.set(`${method.toUpperCase()} ${path}`, responder);
      return target;
    },
    redirect(path, location, status = 302) {
      return target.on('*', path, { status, headers: { location } });
    },
    reset() {
      routes.clear();
      requests.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return target;
}

async function respond(
  responder: Responder | undefined,
  req: RecordedRequest,
  res: ServerResponse,
): Promise<void> {
  const script: ScriptedResponse =
    responder === undefined
      ? { status: 404, body: { error: 'no route' } }
      : typeof responder === 'function'
        ? await responder(req)
        : responder;
  if (script.delayMs !== undefined) await sleep(script.delayMs);
  if (res.destroyed) return;
  if (script.destroySocket) {
    res.socket?.destroy();
    return;
  }
  const headers: Record<string, string | string[]> = { ...script.headers };
  const hasType = Object.keys(headers).some((h) => h.toLowerCase() === 'content-type');
  if (script.streamBytes !== undefined) {
    if (!hasType) headers['content-type'] = 'application/octet-stream';
    res.writeHead(script.status ?? 200, headers);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let left = script.streamBytes;
    while (left > 0 && !res.destroyed) {
      const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= part.length;
      if (!res.write(part)) await drainOrClose(res);
      if (script.chunkDelayMs !== undefined) await sleep(script.chunkDelayMs);
    }
    res.end();
    return;
  }
  let payload: Buffer | string = '';
  if (Buffer.isBuffer(script.body) || typeof script.body === 'string') {
    payload = script.body;
    if (!hasType) headers['content-type'] = 'text/plain; charset=utf-8';
  } else if (script.body !== undefined && script.body !== null) {
    payload = JSON.stringify(script.body);
    if (!hasType) headers['content-type'] = 'application/json';
  }
  res.writeHead(script.status ?? 200, headers);
  res.end(payload);
}

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
