import { noopDeferredSpanEmitter } from '@flowtrace/telemetry';
import { DEFINITION_LIMITS } from '@flowtrace/workflow';
import { nestedJsonText } from '@flowtrace/workflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';
import { startTestIngestion, type TestIngestion } from '../support/test-ingestion.ts';
import { expectErrorShape, rowCounts } from './api-harness.ts';

const workflow = (extra: Record<string, unknown> = {}, config: Record<string, unknown> = {}) => ({
  name: 'limits',
  nodes: [
    { id: 'ask', type: 'llm', config: { provider: 'simulated', model: 'sim', prompt: 'hi', ...config } },
  ],
  ...extra,
});

describe('client input that could not be stored is a 4xx, and nothing is written', () => {
  let fleet: InProcessFleet;
  let ingestion: TestIngestion;
  const counts = () => rowCounts(fleet.db.handle.sql, ingestion.sql);
  const send = (method: 'POST' | 'GET', url: string, payload?: string | object) =>
    fleet.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${fleet.apiKey}`, 'content-type': 'application/json' },
      ...(payload === undefined ? {} : { payload }),
    });

  beforeAll(async () => {
    ingestion = await startTestIngestion();
    fleet = await startInProcessFleet({
      executors: [],
      deferredSpans: noopDeferredSpanEmitter,
      ingest: ingestion.ingest,
    });
  });
  afterAll(async () => {
    await fleet?.close();
    await ingestion?.close();
  });

  it('rejects JSON nested deeper than the limit in inputs, definitions and documents with nesting_too_deep', async () => {
    const valid = JSON.stringify(workflow());
    const deep = nestedJsonText(4_000);
    const before = await counts();
    const cases: [string, string][] = [
      ['/v1/runs', `{"workflow":${valid},"input":{"a":${deep}}}`],
      ['/v1/runs', `{"workflow":${valid},"input":{"a":${nestedJsonText(DEFINITION_LIMITS.maxJsonDepth)}}}`],
      [
        '/v1/runs',
        `{"workflow":${JSON.stringify(workflow({}, { tools: [] })).replace('"tools":[]', `"tools":${deep}`)}}`,
      ],
      ['/v1/workflows', valid.replace('"prompt":"hi"', `"prompt":${deep}`)],
      ['/v1/collections/docs/documents', `{"documents":[{"content":"x","metadata":{"a":${deep}}}]}`],
      ['/v1/runs', deep],
      ['/v1/runs', nestedJsonText(500_000)],
    ];
    for (const [url, body] of cases) {
      const response = await send('POST', url, body);
      expectErrorShape(response.statusCode, response.json(), `${url} ${body.slice(0, 60)}`);
      expect(response.json().error.code).toBe('nesting_too_deep');
    }
    expect(await counts()).toEqual(before);
    // At the limit it is accepted.
    const atLimit = await send(
      'POST',
      '/v1/runs',
      `{"workflow":${valid},"input":{"a":${nestedJsonText(DEFINITION_LIMITS.maxJsonDepth - 1)}}}`,
    );
    expect(atLimit.statusCode).toBe(202);
    // No executors here: the run fails at once; wait for it, so later tests count only their own writes.
    await fleet.waitForRun(atLimit.json().runId);
  });

  const hostile = ['a\u0000b', 'x\ud800y', '\udfff', 'tail\ud83d'];

  it.each(hostile)('rejects %j in every stored string with invalid_character', async (bad) => {
    const before = await counts();
    const cases: [string, unknown][] = [
      ['/v1/runs', { workflow: workflow(), input: { note: bad } }],
      ['/v1/runs', { workflow: workflow(), input: { [bad]: 1 } }],
      ['/v1/runs', { workflow: workflow(), input: { list: [{ deep: [bad] }] } }],
      ['/v1/runs', { workflow: workflow({}, { prompt: `Hello ${bad}` }) }],
      ['/v1/runs', { workflow: workflow({ name: `n${bad}` }) }],
      ['/v1/runs', { workflow: workflow({ description: bad }) }],
      ['/v1/runs', { workflow: workflow(), idempotencyKey: `key-${bad}` }],
      ['/v1/workflows', workflow({}, { system: bad })],
      ['/v1/workflows', workflow({ description: bad })],
      ['/v1/collections/docs/documents', { documents: [{ content: `text ${bad}` }] }],
      ['/v1/collections/docs/documents', { documents: [{ content: 'ok', title: bad, source: 's' }] }],
      ['/v1/collections/docs/documents', { documents: [{ content: 'ok', metadata: { [bad]: bad } }] }],
    ];
    for (const [url, payload] of cases) {
      const response = await send('POST', url, JSON.stringify(payload));
      expectErrorShape(
        response.statusCode,
        response.json(),
        `${url} ${JSON.stringify(payload).slice(0, 80)}`,
      );
      expect(response.json().error.code).toBe('invalid_character');
      expect(response.json().error.message).toMatch(/U\+0000|unpaired UTF-16 surrogate/);
    }
    // In the URL: a path parameter and a query value.
    for (const url of [
      `/v1/collections/${encodeURIComponent('d\u0000')}/documents`,
      '/v1/runs/00000000-0000-4000-8000-000000000000/events?after=1%00',
    ]) {
      const response = await send(
        url.includes('collections') ? 'POST' : 'GET',
        url,
        url.includes('collections') ? '{"documents":[{"content":"x"}]}' : undefined,
      );
      expectErrorShape(response.statusCode, response.json(), url);
    }
    expect(await counts()).toEqual(before);
  });

  it('accepts the same requests with valid Unicode, so the rejections are about the characters', async () => {
    const fine = 'emoji 😀, accents é, RTL \u202e, CRLF \r\n';
    const run = await send(
      'POST',
      '/v1/runs',
      JSON.stringify({
        workflow: workflow({ description: fine }, { prompt: fine }),
        input: { [fine]: fine },
      }),
    );
    expect(run.statusCode).toBe(202);
    const docs = await send(
      'POST',
      '/v1/collections/docs/documents',
      JSON.stringify({ documents: [{ content: fine, title: fine, metadata: { [fine]: fine } }] }),
    );
    expect(docs.statusCode).toBe(201);
  });
});
