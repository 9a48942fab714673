import type { AddressInfo } from 'node:net';
import { noopDeferredSpanEmitter } from '@flowtrace/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';
import { expectErrorShape, rawRequest, rowCounts } from './api-harness.ts';

/** Errors Node's HTTP parser raises before a request reaches Fastify, against the real server on loopback. */
describe("HTTP-level errors in the API's error format (listening server)", () => {
  let fleet: InProcessFleet;
  let port: number;

  beforeAll(async () => {
    fleet = await startInProcessFleet({ executors: [], deferredSpans: noopDeferredSpanEmitter });
    await fleet.app.listen({ host: '127.0.0.1', port: 0 });
    port = (fleet.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await fleet?.close();
  });

  const request = (lines: string[], body = '') =>
    rawRequest(port, `${lines.join('\r\n')}\r\nConnection: close\r\n\r\n${body}`);

  it('answers headers over the limit with 431 headers_too_large', async () => {
    const before = await rowCounts(fleet.db.handle.sql);
    const body = JSON.stringify({ workflow: { name: 'w', nodes: [] } });
    for (const lines of [
      ['GET /healthz HTTP/1.1', 'Host: localhost', `X-Big: ${'a'.repeat(20_000)}`],
      [
        'POST /v1/runs HTTP/1.1',
        'Host: localhost',
        `Authorization: Bearer ${fleet.apiKey}`,
        'Content-Type: application/json',
        `Content-Length: ${body.length}`,
        ...Array.from({ length: 400 }, (_, i) => `X-Many-${i}: ${'b'.repeat(40)}`),
      ],
    ]) {
      const response = await request(lines, lines[0]?.startsWith('POST') ? body : '');
      expect(response.status).toBe(431);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      const parsed = JSON.parse(response.body);
      expectErrorShape(response.status, parsed);
      expect(parsed).toEqual({
        error: { code: 'headers_too_large', message: expect.stringMatching(/larger than 16384 bytes/) },
      });
    }
    expect(await rowCounts(fleet.db.handle.sql)).toEqual(before);
  });

  it('answers malformed requests (control characters in headers, bad names, bad framing) with 400 invalid_request', async () => {
    const malformed: string[][] = [
      ['GET /healthz HTTP/1.1', 'Host: localhost', 'X-Test: a\u0001b'],
      ['GET /healthz HTTP/1.1', 'Host: localhost', 'X-Test: a\u0000b'],
      ['GET /healthz HTTP/1.1', 'Host: localhost', 'X-Test: a\u007fb'],
      ['GET /healthz HTTP/1.1', 'Host: localhost', 'Bad Header: x'],
      ['GET /healthz HTTP/1.1', 'Host: localhost', 'Content-Length: 1', 'Content-Length: 2'],
      ['GET /healthz HTTP/1.1', 'Host: localhost', 'Content-Length: -1'],
      ['GET /healthz HTTP/1.1', 'Host: localhost', 'Transfer-Encoding: chunked', 'Content-Length: 3'],
      ['NOT A REQUEST LINE'],
      ['GET /healthz HTTP/9.9', 'Host: localhost'],
    ];
    for (const lines of malformed) {
      const response = await request(lines);
      expect(response.status, lines.join(' | ')).toBe(400);
      const parsed = JSON.parse(response.body);
      expectErrorShape(response.status, parsed, lines.join(' | '));
      expect(parsed.error.code).toBe('invalid_request');
    }
  });

  it('keeps serving well-formed requests on new connections', async () => {
    const response = await request(['GET /healthz HTTP/1.1', 'Host: localhost']);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ status: 'ok' });
  });
});
