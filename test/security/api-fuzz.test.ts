import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { noopDeferredSpanEmitter } from '@flowtrace/telemetry';
import { hostileJson, nestedJsonText } from '@flowtrace/workflow/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';
import { startTestIngestion, type TestIngestion } from '../support/test-ingestion.ts';
import { expectErrorShape, rawRequest, rowCounts } from './api-harness.ts';

/**
 * A bounded fuzz pass against the real server listening on loopback (Node's HTTP parser included, which
 * `inject` skips): generated bad bodies, paths, query strings and headers on every /v1 route of the
 * OpenAPI document. Whatever is sent: no 5xx, the documented error shape with a catalogued code, and no
 * row written anywhere.
 */
describe('API fuzz: bad requests to the listening server', () => {
  let fleet: InProcessFleet;
  let ingestion: TestIngestion;
  let base: string;
  let port: number;
  let baseline: Record<string, number>;
  let operations: { method: string; path: string }[];

  beforeAll(async () => {
    ingestion = await startTestIngestion();
    fleet = await startInProcessFleet({
      executors: [],
      deferredSpans: noopDeferredSpanEmitter,
      ingest: ingestion.ingest,
    });
    await fleet.app.listen({ host: '127.0.0.1', port: 0 });
    port = (fleet.app.server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    operations = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
      );
    expect(operations.map((o) => `${o.method} ${o.path}`)).toEqual(
      expect.arrayContaining([
        'POST /v1/runs',
        'POST /v1/workflows',
        'POST /v1/collections/{name}/documents',
        'GET /v1/runs/{id}',
      ]),
    );
    baseline = await counts();
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
    await ingestion?.close();
  });

  const counts = () => rowCounts(fleet.db.handle.sql, ingestion.sql);

  /** Asserts the answer is a documented 4xx (or a 2xx that wrote nothing) and that no row was written. */
  const check = async (label: string, status: number, text: string) => {
    expect(status, label).toBeLessThan(500);
    if (status >= 400) {
      let body: unknown;
      expect(
        () => {
          body = JSON.parse(text);
        },
        `${label}: ${text.slice(0, 200)}`,
      ).not.toThrow();
      expectErrorShape(status, body, label);
    }
    expect(await counts(), label).toEqual(baseline);
  };

  /** Text that Postgres cannot store: always contains NUL or an unpaired surrogate. */
  const unstorable = fc
    .tuple(
      fc.string({ maxLength: 6 }),
      fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff'),
      fc.string({ maxLength: 6 }),
    )
    .map(([a, bad, b]) => `${a}${bad}${b}`);
  const validDefinition = {
    name: 'fuzz',
    nodes: [
      { id: 'ask', type: 'llm', config: { provider: 'simulated', model: 'sim', prompt: 'hi {{input.q}}' } },
    ],
  };
  /** Valid-looking bodies with one leaf replaced by unstorable text or JSON nested past the limit. */
  const poisonedBody = fc
    .tuple(
      fc.constantFrom(
        { workflow: validDefinition, input: { q: 'x' }, idempotencyKey: 'k' },
        { workflowId: randomUUID(), input: { q: 'x', nested: { list: ['a'] } } },
        validDefinition,
        { documents: [{ content: 'text', title: 't', source: 's', metadata: { k: 'v' } }] },
        { fromNodes: ['ask'], idempotencyKey: 'k' },
      ),
      fc.nat(),
      fc.oneof(
        unstorable.map((s) => JSON.stringify(s)),
        fc.integer({ min: 66, max: 20_000 }).map((depth) => nestedJsonText(depth)),
      ),
    )
    .map(([template, pick, replacement]) => {
      const text = JSON.stringify(template);
      // The string literals of the template (keys and values), one of which is replaced.
      const literals = [...text.matchAll(/"(?:[^"\\]|\\.)*"/g)];
      const target = literals[pick % literals.length];
      if (!target || target.index === undefined) return text;
      // A key can only be replaced by a string.
      const isKey = text[target.index + target[0].length] === ':';
      const replaced = isKey && !replacement.startsWith('"') ? '"k\\u0000"' : replacement;
      return text.slice(0, target.index) + replaced + text.slice(target.index + target[0].length);
    });
  const rawBody = fc.oneof(
    poisonedBody,
    hostileJson.map((value) => JSON.stringify(value) ?? 'null'),
    fc.constantFrom(
      '',
      '{',
      '{"workflow":',
      '\ufeff{"input":{}}',
      '{"input":1e999999}',
      '{"workflowId":"00000000-0000-4000-8000-000000000000","workflowId":7}',
      '{"__proto__":{"polluted":true},"input":{}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"input":{"a":"\\ud800"}}',
      '{"input":{"a":"\\u0000"}}',
      '[]',
      'null',
      '"string"',
      '{"documents":[{"content":"\\udfff"}]}',
      `{"input":${'9'.repeat(5_000)}}`,
    ),
    fc.string({ unit: 'binary', maxLength: 200 }),
  );
  const contentType = fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    undefined,
  );
  // URLs carry bytes: a lone surrogate cannot be percent-encoded as UTF-8, so it goes in as %ED%A0%80.
  const encode = (text: string) =>
    encodeURIComponent(text.replaceAll('\u0000', '\u0001').toWellFormed()).replaceAll('%01', '%00');
  const pathParam = fc.oneof(
    fc.uuid().map(String),
    unstorable.map((text) => `${encode(text)}%ED%A0%80`),
    fc.string({ maxLength: 80 }).map(encode),
    fc.constantFrom('..%2F..%2Fetc', '%00', '%ED%A0%80', '%C0%AF', 'a'.repeat(3_000), '%', '%zz'),
  );
  const query = fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom('after', 'limit', 'status', 'cursor', 'workflowId', 'from', 'to'),
          fc.string(),
        ),
        fc.oneof(fc.string(), unstorable, fc.constantFrom('-1', '1e9', '%00', '%ED%A0%80', 'NaN', '')),
      ),
      { maxLength: 4 },
    )
    .map((pairs) =>
      pairs.length === 0
        ? ''
        : `?${pairs.map(([k, v]) => `${encode(k)}=${v.startsWith('%') ? v : encode(v)}`).join('&')}`,
    );

  const url = (path: string, params: string[]) => {
    let i = 0;
    return path.replace(/\{[^}]+\}/g, () => params[i++ % params.length] ?? 'x');
  };

  it('answers generated bad bodies on every route with a documented 4xx and writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(pathParam, { minLength: 1, maxLength: 2 }),
        rawBody,
        contentType,
        async (pick, params, body, type) => {
          const operation = operations[pick % operations.length] as { method: string; path: string };
          const method = operation.method === 'GET' ? 'POST' : operation.method;
          const target = url(operation.path, params);
          const response = await fetch(`${base}${target}`, {
            method,
            headers: {
              authorization: `Bearer ${fleet.apiKey}`,
              ...(type === undefined ? {} : { 'content-type': type }),
            },
            body,
            signal: AbortSignal.timeout(10_000),
          });
          await check(
            `${method} ${target} ${JSON.stringify(body).slice(0, 120)}`,
            response.status,
            await response.text(),
          );
        },
      ),
      { numRuns: 250 },
    );
  });

  it('answers generated bad paths and query strings on every route with a documented 4xx and writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(pathParam, { minLength: 1, maxLength: 2 }),
        query,
        async (pick, params, search) => {
          const operation = operations[pick % operations.length] as { method: string; path: string };
          // GET routes with their query; other routes with a body that is bad on its own.
          const target = `${url(operation.path, params)}${search}`;
          const response = await fetch(`${base}${target}`, {
            method: operation.method,
            headers: {
              authorization: `Bearer ${fleet.apiKey}`,
              ...(operation.method === 'GET' ? {} : { 'content-type': 'application/json' }),
            },
            ...(operation.method === 'GET' ? {} : { body: '{"input":{"a":"\\u0000"}}' }),
            signal: AbortSignal.timeout(10_000),
          });
          await check(`${operation.method} ${target}`, response.status, await response.text());
        },
      ),
      { numRuns: 150 },
    );
  });

  it('answers generated bad headers with a documented 4xx (or the route answer) and writes nothing', async () => {
    const headerName = fc.oneof(
      fc.constantFrom(
        'traceparent',
        'tracestate',
        'baggage',
        'authorization',
        'content-type',
        'accept',
        'x-forwarded-for',
        'idempotency-key',
        'Transfer-Encoding',
      ),
      fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 20 }),
    );
    const headerValue = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.integer({ min: 1, max: 40_000 }).map((n) => 'v'.repeat(n)),
      fc.constantFrom(
        '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        'ff-00000000000000000000000000000000-0000000000000000-ff',
        `${'k=v,'.repeat(200)}x=y`,
        'Bearer',
        'Bearer \u0000',
        'chunked',
      ),
    );
    const body = '{"workflowId":"00000000-0000-4000-8000-000000000000","input":{"q":"\\u0000"}}';
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(headerName, headerValue), { minLength: 1, maxLength: 30 }),
        fc.constantFrom('GET /v1/runs/00000000-0000-4000-8000-000000000000', 'POST /v1/runs', 'GET /healthz'),
        async (headers, line) => {
          const isPost = line.startsWith('POST');
          const lines = [
            `${line} HTTP/1.1`,
            'Host: 127.0.0.1',
            `Authorization: Bearer ${fleet.apiKey}`,
            ...headers
              // A framing header that promises more body than is sent would keep the request open.
              .filter(([name]) => !/^\s*(content-length|transfer-encoding)\s*$/i.test(name))
              .map(([name, value]) => `${name}: ${value}`),
            ...(isPost
              ? ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`]
              : []),
            'Connection: close',
          ];
          const response = await rawRequest(
            port,
            Buffer.from(`${lines.join('\r\n')}\r\n\r\n${isPost ? body : ''}`, 'latin1'),
          );
          expect(Number.isNaN(response.status), `no answer to ${lines.join(' | ').slice(0, 300)}`).toBe(
            false,
          );
          await check(`${line} with ${headers.length} headers`, response.status, response.body);
        },
      ),
      { numRuns: 150 },
    );
  });
});
