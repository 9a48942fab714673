import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The service side of the W3C Trace Context test harness (github.com/w3c/trace-context, `test/`): the
 * harness POSTs a JSON array of `{ url, arguments }` with trace headers, and expects one POST to each `url`
 * (body: its `arguments`) before the answer. This adapter turns that request into `POST /v1/runs` with the
 * caller's header lines forwarded unchanged (repeated `tracestate` lines stay separate), and a run of one
 * independent `connector` node per element; it answers once the run has finished, so every callback the
 * harness waits for has been made by a connector worker.
 */
export interface TraceContextAdapter {
  readonly url: string;
  close(): Promise<void>;
}

/** Headers the adapter itself owns: everything else the harness sent goes on to the API as it came. */
const NOT_FORWARDED = new Set([
  'host',
  'connection',
  'content-length',
  'content-type',
  'transfer-encoding',
  'accept-encoding',
  'authorization',
]);

interface HarnessAction {
  url: string;
  arguments?: unknown;
}

export async function startTraceContextAdapter(options: {
  apiUrl: string;
  apiKey: string;
  host?: string;
  port?: number;
  /** How long a run may take before the adapter answers 504. */
  runTimeoutMs?: number;
}): Promise<TraceContextAdapter> {
  const runTimeoutMs = options.runTimeoutMs ?? 10_000;
  const server: Server = createServer((req, res) => {
    handle(req)
      .then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      })
      .catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(error) }));
      });
  });

  async function handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const parsed = (text ? JSON.parse(text) : []) as unknown;
    const actions = (Array.isArray(parsed) ? parsed : [parsed]).filter(
      (a): a is HarnessAction => typeof (a as HarnessAction | null)?.url === 'string',
    );
    if (actions.length === 0) return { status: 200, body: null };

    const forwarded: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] as string;
      if (!NOT_FORWARDED.has(name.toLowerCase())) forwarded.push(name, req.rawHeaders[i + 1] as string);
    }
    const workflow = {
      name: 'w3c-trace-context',
      nodes: actions.map((action, index) => ({
        id: `callback${index}`,
        type: 'connector',
        config: { method: 'POST', url: action.url, body: action.arguments ?? [], responseType: 'text' },
      })),
    };
    const submitted = await postRaw(`${options.apiUrl}/v1/runs`, forwarded, { workflow, input: {} });
    if (submitted.status !== 202) return { status: 502, body: submitted.body };
    const runId = (submitted.body as { runId: string }).runId;
    const deadline = Date.now() + runTimeoutMs;
    for (;;) {
      const response = await fetch(`${options.apiUrl}/v1/runs/${runId}`, {
        headers: { authorization: `Bearer ${options.apiKey}` },
      });
      const run = (await response.json()) as { status: string; traceId: string; error: unknown };
      if (['completed', 'failed', 'cancelled'].includes(run.status))
        return { status: 200, body: { runId, status: run.status, traceId: run.traceId, error: run.error } };
      if (Date.now() > deadline) return { status: 504, body: { runId, status: run.status } };
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** A POST whose header lines are sent exactly as given (node:http keeps repeated names as separate lines). */
  function postRaw(url: string, rawHeaders: string[], body: unknown) {
    const payload = JSON.stringify(body);
    return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method: 'POST',
          // Given as raw lines, node:http adds no Host header of its own.
          headers: [
            'host',
            new URL(url).host,
            ...rawHeaders,
            'authorization',
            `Bearer ${options.apiKey}`,
            'content-type',
            'application/json',
            'content-length',
            String(Buffer.byteLength(payload)),
          ],
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
