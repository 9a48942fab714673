import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FlowtraceClient } from './client.ts';
import { ServerError } from './errors.ts';

/** A loopback API that answers 503 (Retry-After: 0) to the first `unavailable` requests, then 200. */
describe('FlowtraceClient retries of 503 answers', () => {
  let server: Server;
  let baseUrl: string;
  let unavailable = 0;
  const seen: { method: string; url: string; body: string }[] = [];

  const read = (request: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => resolve(body));
    });

  beforeAll(async () => {
    server = createServer(async (request, response) => {
      seen.push({ method: request.method ?? '', url: request.url ?? '', body: await read(request) });
      response.setHeader('content-type', 'application/json');
      if (unavailable > 0) {
        unavailable--;
        response.writeHead(503, { 'retry-after': '0' });
        response.end(
          JSON.stringify({
            error: { code: 'dependency_unavailable', message: 'the database is restarting' },
          }),
        );
        return;
      }
      response.writeHead(request.method === 'POST' ? 202 : 200);
      response.end(JSON.stringify({ runId: 'r-1', status: 'queued' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    seen.length = 0;
    unavailable = 0;
  });

  const client = (retries?: number) =>
    new FlowtraceClient({ baseUrl, apiKey: 'k', ...(retries === undefined ? {} : { retries }) });

  it('retries a read after Retry-After, twice by default', async () => {
    unavailable = 2;
    expect((await client().getRun('r-1')).status).toBe('queued');
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual(Array(3).fill('GET /v1/runs/r-1'));
  });

  it('gives up after its retries with the 503, carrying the Retry-After', async () => {
    unavailable = 5;
    const error = await client(1)
      .getRun('r-1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ status: 503, code: 'dependency_unavailable', retryAfterMs: 0 });
    expect(seen).toHaveLength(2);
  });

  it('retries a submission only when it carries an idempotency key', async () => {
    unavailable = 1;
    await expect(client().submitRun({ workflowId: 'w' })).rejects.toBeInstanceOf(ServerError);
    expect(seen).toHaveLength(1);

    seen.length = 0;
    unavailable = 1;
    const accepted = await client().submitRun({ workflowId: 'w', idempotencyKey: 'order-42' });
    expect(accepted.runId).toBe('r-1');
    expect(seen.map((r) => JSON.parse(r.body).idempotencyKey)).toEqual(['order-42', 'order-42']);
  });

  it('does not retry with retries: 0', async () => {
    unavailable = 1;
    await expect(client(0).getRun('r-1')).rejects.toBeInstanceOf(ServerError);
    expect(seen).toHaveLength(1);
  });
});
