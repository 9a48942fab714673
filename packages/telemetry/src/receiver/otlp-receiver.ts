import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { flattenLogs, flattenMetrics, flattenTraces } from './otlp-json.ts';
import type { OtlpLogsRequest, OtlpMetricsRequest, OtlpTracesRequest } from './otlp-model.ts';
import { decodeLogsRequest, decodeMetricsRequest, decodeTracesRequest } from './otlp-protobuf.ts';
import type { ReceivedLogRecord, ReceivedMetric, ReceivedSpan } from './received-types.ts';

const gunzipAsync = promisify(gunzip);

export interface OtlpReceiverOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
}

export interface WaitForOptions {
  /** Defaults to 5000. */
  timeoutMs?: number;
  /** Defaults to 20. */
  intervalMs?: number;
  /** Says what was awaited, in the timeout error. */
  message?: string;
}

type Signal = 'traces' | 'metrics' | 'logs';

const SIGNAL_PATHS = new Map<string, Signal>([
  ['/v1/traces', 'traces'],
  ['/v1/metrics', 'metrics'],
  ['/v1/logs', 'logs'],
]);

const MEDIA_TYPES = new Map<string, 'protobuf' | 'json'>([
  ['application/x-protobuf', 'protobuf'],
  ['application/json', 'json'],
]);

/**
 * An OTLP/HTTP collector for tests: processes under test export to {@link OtlpReceiver.endpoint} (set it
 * as `OTEL_EXPORTER_OTLP_ENDPOINT`) and the test reads back plain, decoded spans, metric points and log
 * records. It accepts `application/x-protobuf` and `application/json` bodies, gzip-compressed or not,
 * and answers like a collector: 200 with an empty `Export*ServiceResponse` in the request's encoding.
 *
 * Telemetry arrives asynchronously from other processes, so read it with {@link OtlpReceiver.waitFor}:
 *
 * ```ts
 * const receiver = await OtlpReceiver.start();
 * const worker = spawn('node', ['apps/worker/src/main.ts'], {
 *   env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
 * });
 * const run = await receiver.waitFor(() => receiver.spans().find((s) => s.name === 'invoke_workflow'));
 * ```
 */
export class OtlpReceiver {
  /** The base URL, e.g. `http://127.0.0.1:43123`; exporters append `/v1/traces` and so on. */
  readonly endpoint: string;
  readonly #server: Server;
  #spans: ReceivedSpan[] = [];
  #metrics: ReceivedMetric[] = [];
  #logs: ReceivedLogRecord[] = [];
  #errors: string[] = [];
  #forcedStatus: number | null = null;
  #requests: Record<Signal, number> = { traces: 0, metrics: 0, logs: 0 };

  private constructor(server: Server, endpoint: string) {
    this.#server = server;
    this.endpoint = endpoint;
  }

  /** Listens on 127.0.0.1 and a free port unless told otherwise. */
  static async start(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { address, family, port } = server.address() as AddressInfo;
    const host = family === 'IPv6' ? `[${address}]` : address;
    const receiver = new OtlpReceiver(server, `http://${host}:${port}`);
    server.on('request', (req, res) => {
      receiver.#handle(req, res).catch((error: unknown) => {
        receiver.#errors.push(`internal error: ${String(error)}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    return receiver;
  }

  /** Export requests received per signal, including those refused by {@link OtlpReceiver.setResponse}. */
  get requests(): Readonly<Record<Signal, number>> {
    return { ...this.#requests };
  }

  /** Spans received so far, in arrival order (a copy). */
  spans(): ReceivedSpan[] {
    return [...this.#spans];
  }

  /** Metric data points received so far, one entry per point, in arrival order (a copy). */
  metrics(): ReceivedMetric[] {
    return [...this.#metrics];
  }

  /** Log records received so far, in arrival order (a copy). */
  logs(): ReceivedLogRecord[] {
    return [...this.#logs];
  }

  /**
   * Requests that could not be decoded (each answered 400 or 415), as messages. A test waiting for data
   * that never came should look here; {@link OtlpReceiver.waitFor} includes them in its timeout error.
   */
  errors(): string[] {
    return [...this.#errors];
  }

  /** Forgets everything received and resets the request counters. */
  clear(): void {
    this.#spans = [];
    this.#metrics = [];
    this.#logs = [];
    this.#errors = [];
    this.#requests = { traces: 0, metrics: 0, logs: 0 };
  }

  /**
   * Simulates a collector in trouble: while a status is set, every export request is answered with it
   * (e.g. 503, which OTLP exporters retry, or 400, which they drop) and its data is not stored. `null`
   * restores normal behaviour.
   */
  setResponse(status: number | null): void {
    this.#forcedStatus = status;
  }

  /**
   * Calls `read` every `intervalMs` until it returns something truthy, and resolves with that. A `read`
   * that throws (say, a failing `expect`) counts as not yet; on timeout the rejection carries the last
   * such error as its `cause`, along with `message` and a summary of what did arrive.
   */
  async waitFor<T>(read: () => T | undefined | null | false, options: WaitForOptions = {}): Promise<T> {
    const { timeoutMs = 5000, intervalMs = 20, message = 'condition' } = options;
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        const value = read();
        if (value) return value;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    const detail = lastError instanceof Error ? ` Last error: ${lastError.message}` : '';
    const text = `OtlpReceiver.waitFor timed out after ${timeoutMs} ms waiting for ${message}.`;
    throw new Error(`${text} ${this.#summary()}${detail}`, { cause: lastError });
  }

  /** Stops listening and drops open (keep-alive) connections. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve, reject) => {
      this.#server.close((error) => (error ? reject(error) : resolve()));
    });
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const signal = SIGNAL_PATHS.get(new URL(req.url ?? '/', 'http://receiver').pathname);
    if (signal === undefined) return reply(res, 404, `no OTLP signal at ${req.url}`);
    if (req.method !== 'POST') return reply(res, 405, `${req.method} is not allowed; OTLP/HTTP uses POST`);
    const raw = await readBody(req);
    this.#requests[signal] += 1;
    if (this.#forcedStatus !== null) return reply(res, this.#forcedStatus, '');

    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    const encoding = MEDIA_TYPES.get(mediaType ?? '');
    if (encoding === undefined) {
      return this.#reject(res, 415, `${signal}: unsupported content-type "${mediaType}"`);
    }
    const contentEncoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (contentEncoding !== 'identity' && contentEncoding !== 'gzip') {
      return this.#reject(res, 415, `${signal}: unsupported content-encoding "${contentEncoding}"`);
    }

    try {
      const body = contentEncoding === 'gzip' ? await gunzipAsync(raw) : raw;
      this.#store(signal, encoding, body);
    } catch (error) {
      return this.#reject(res, 400, `${signal} (${encoding}): cannot decode the request: ${String(error)}`);
    }
    if (encoding === 'protobuf') {
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 }).end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    }
  }

  #store(signal: Signal, encoding: 'protobuf' | 'json', body: Uint8Array): void {
    // JSON.parse yields the OTLP/JSON model directly; the casts trust the sender as a collector must,
    // and the flattening copes with missing fields.
    const json = encoding === 'json' ? parseJsonObject(body) : undefined;
    switch (signal) {
      case 'traces':
        this.#spans.push(
          ...flattenTraces((json as OtlpTracesRequest | undefined) ?? decodeTracesRequest(body)),
        );
        return;
      case 'metrics':
        this.#metrics.push(
          ...flattenMetrics((json as OtlpMetricsRequest | undefined) ?? decodeMetricsRequest(body)),
        );
        return;
      case 'logs':
        this.#logs.push(...flattenLogs((json as OtlpLogsRequest | undefined) ?? decodeLogsRequest(body)));
        return;
    }
  }

  #reject(res: ServerResponse, status: number, error: string): void {
    this.#errors.push(error);
    reply(res, status, error);
  }

  #summary(): string {
    const names = [...new Set(this.#spans.map((s) => s.name))];
    const shown = names.length > 20 ? [...names.slice(0, 20), '…'] : names;
    const metricNames = [...new Set(this.#metrics.map((m) => m.name))];
    const { traces, metrics, logs } = this.#requests;
    const errors = this.#errors.length > 0 ? ` Errors: ${this.#errors.join('; ')}.` : '';
    return (
      `Received ${this.#spans.length} spans [${shown.join(', ')}], ${this.#metrics.length} metric points ` +
      `[${metricNames.join(', ')}], ${this.#logs.length} log records, from requests ` +
      `traces=${traces} metrics=${metrics} logs=${logs}.${errors}`
    );
  }
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
}

function parseJsonObject(body: Uint8Array): object {
  const parsed: unknown = JSON.parse(Buffer.from(body).toString('utf8'));
  if (parsed === null || typeof parsed !== 'object') throw new Error('the body is not a JSON object');
  return parsed;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
