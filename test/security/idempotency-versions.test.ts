import { noopDeferredSpanEmitter } from '@flowtrace/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';

const workflow = (prompt: string) => ({
  name: 'idempotent-flow',
  nodes: [{ id: 'ask', type: 'llm', config: { provider: 'simulated', model: 'sim', prompt } }],
});

describe('idempotency keys stand for the request as sent (real Postgres and Redis)', () => {
  let fleet: InProcessFleet;
  const submit = (payload: unknown) =>
    fleet.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: { authorization: `Bearer ${fleet.apiKey}` },
      payload: payload as object,
    });
  const counts = async () => {
    const [row] = await fleet.db.handle.sql`
      select (select count(*) from runs)::int as runs, (select count(*) from workflows)::int as workflows,
             (select count(*) from node_runs)::int as nodes`;
    return row;
  };

  beforeAll(async () => {
    // No executors: the runs stay queued, which is all these tests need.
    fleet = await startInProcessFleet({ executors: [], deferredSpans: noopDeferredSpanEmitter });
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it('replays an inline-workflow request even after another version of its name was registered', async () => {
    const request = {
      workflow: workflow('v1 says {{input.q}}'),
      input: { q: 'hi' },
      idempotencyKey: 'k-inline',
    };
    const first = await submit(request);
    expect(first.statusCode).toBe(202);
    const other = await fleet.app.inject({
      method: 'POST',
      url: '/v1/workflows',
      headers: { authorization: `Bearer ${fleet.apiKey}` },
      payload: workflow('v2 says something else'),
    });
    expect(other.statusCode).toBe(201);
    expect(other.json().version).toBe(2);
    const before = await counts();

    const retry = await submit(request);
    expect(retry.statusCode).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json().runId).toBe(first.json().runId);
    expect(retry.json().workflowId).toBe(first.json().workflowId);
    // The same request with its keys in another order is the same request.
    const reordered = await submit({
      idempotencyKey: 'k-inline',
      input: { q: 'hi' },
      workflow: { nodes: request.workflow.nodes, name: request.workflow.name },
    });
    expect(reordered.json().runId).toBe(first.json().runId);
    // A replay registers nothing: no third version of the name, no run.
    expect(await counts()).toEqual(before);
  });

  it('answers 409 for a different request under a used key, and registers nothing for it', async () => {
    const first = await submit({ workflow: workflow('original'), input: {}, idempotencyKey: 'k-conflict' });
    expect(first.statusCode).toBe(202);
    const before = await counts();
    for (const changed of [
      { workflow: workflow('a different prompt'), input: {}, idempotencyKey: 'k-conflict' },
      { workflow: workflow('original'), input: { extra: 1 }, idempotencyKey: 'k-conflict' },
      { workflowId: first.json().workflowId, input: {}, idempotencyKey: 'k-conflict' },
    ]) {
      const response = await submit(changed);
      expect(response.statusCode).toBe(409);
      expect(response.json().error).toMatchObject({
        code: 'idempotency_conflict',
        details: { runId: first.json().runId },
      });
    }
    expect(await counts()).toEqual(before);
  });

  it('replays a registered-workflow request by id, input included', async () => {
    const registered = await fleet.app.inject({
      method: 'POST',
      url: '/v1/workflows',
      headers: { authorization: `Bearer ${fleet.apiKey}` },
      payload: { ...workflow('by id'), name: 'by-id' },
    });
    const request = { workflowId: registered.json().id, input: { n: 1 }, idempotencyKey: 'k-by-id' };
    const first = await submit(request);
    const again = await submit(request);
    expect(again.json().runId).toBe(first.json().runId);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('gives concurrent identical requests one run and at most one new workflow version', async () => {
    const before = await counts();
    const request = {
      workflow: { ...workflow('racing'), name: 'racing' },
      input: {},
      idempotencyKey: 'k-race',
    };
    const responses = await Promise.all(Array.from({ length: 8 }, () => submit(request)));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(8).fill(202));
    expect(new Set(responses.map((r) => r.json().runId)).size).toBe(1);
    const after = await counts();
    expect(after?.runs).toBe((before?.runs ?? 0) + 1);
    expect(after?.workflows).toBe((before?.workflows ?? 0) + 1);
  });
});
