import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FlowtraceApiError } from '@flowtrace/client';
import { afterEach, describe, expect, it } from 'vitest';
import { ViewerApi } from './client.ts';
import { type FollowState, followEvents } from './follow-events.ts';
import type { RunEvent } from './types.ts';

const RUN = '6f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b';

const event = (seq: number, type = 'node.started'): RunEvent => ({
  id: 100 + seq,
  seq,
  type,
  nodeId: type.startsWith('node.') ? 'a' : null,
  attempt: type.startsWith('node.') ? 1 : null,
  message: null,
  data: null,
  traceId: 't',
  spanId: null,
  createdAt: '2026-03-01T10:00:00.000Z',
});
const frame = (e: RunEvent) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

/** A real HTTP server on loopback playing the API, one handler per request in order. */
async function apiServer(
  handlers: ((req: IncomingMessage, res: ServerResponse) => void)[],
): Promise<{ server: Server; url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    const handler = handlers[requests.length - 1];
    if (handler) handler(req, res);
    else res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const sse = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });
const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
});

async function follow(url: string, options: { pollMs?: number; onUnauthorized?: () => void } = {}) {
  const events: RunEvent[] = [];
  const states: FollowState[] = [];
  const api = new ViewerApi({
    apiKey: 'ft_test',
    baseUrl: url,
    ...(options.onUnauthorized ? { onUnauthorized: options.onUnauthorized } : {}),
  });
  await followEvents({
    api,
    runId: RUN,
    after: 0,
    signal: AbortSignal.timeout(20_000),
    onEvent: (e) => events.push(e),
    onState: (s) => states.push(s),
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
  });
  return { events, states };
}

describe('followEvents', () => {
  it('resumes a dropped stream from the last event, without repeats, and stops at the terminal event', async () => {
    const api = await apiServer([
      (_req, res) => {
        sse(res);
        res.write(': ping\n\n');
        res.write(frame(event(1, 'run.started')) + frame(event(2)));
        res.end();
      },
      (_req, res) => {
        sse(res);
        // A server resending what the client already has must not make it show an event twice.
        res.write(frame(event(2)) + frame(event(3, 'node.completed')) + frame(event(4, 'run.completed')));
        // The connection stays open: the client ends on the terminal event, not on the close.
      },
    ]);
    server = api.server;
    const { events, states } = await follow(api.url);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(states).toEqual(['live', 'reconnecting', 'live', 'ended']);
    expect(api.requests.map((r) => r.url)).toEqual([
      `/v1/runs/${RUN}/events/stream`,
      `/v1/runs/${RUN}/events/stream`,
    ]);
    expect(api.requests[0]?.headers.authorization).toBe('Bearer ft_test');
    expect(api.requests[0]?.headers['last-event-id']).toBeUndefined();
    expect(api.requests[1]?.headers['last-event-id']).toBe('2');
  });

  it('reads the events route where the API has no stream', async () => {
    const api = await apiServer([
      (_req, res) => json(res, 404, { error: { code: 'not_found', message: 'no route' } }),
      (_req, res) => json(res, 200, { events: [event(1, 'run.started'), event(2)], nextAfter: null }),
      (_req, res) => json(res, 200, { events: [], nextAfter: null }),
      (_req, res) => json(res, 200, { events: [event(3, 'run.failed')], nextAfter: null }),
    ]);
    server = api.server;
    const { events, states } = await follow(api.url, { pollMs: 20 });
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(states).toEqual(['polling', 'ended']);
    expect(api.requests.slice(1).map((r) => new URL(r.url ?? '', api.url).searchParams.get('after'))).toEqual(
      ['0', '2', '2'],
    );
  });

  it('gives up on a refused key instead of reconnecting', async () => {
    const api = await apiServer([
      (_req, res) => json(res, 401, { error: { code: 'unauthorized', message: 'API key is not valid' } }),
    ]);
    server = api.server;
    let refused = 0;
    const failure = await follow(api.url, { onUnauthorized: () => (refused += 1) }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(FlowtraceApiError);
    expect((failure as FlowtraceApiError).code).toBe('unauthorized');
    expect(refused).toBe(1);
    expect(api.requests).toHaveLength(1);
  });
});
