import type { AddressInfo } from 'node:net';
import { FlowtraceClient, isApiError, type RunEvent } from '@flowtrace/client';
import { type InMemoryTracing, startInMemoryTracing } from '@flowtrace/telemetry/testing';
import type { JsonValue, NodeExecutor, NodeType } from '@flowtrace/workflow';
import { PermanentNodeError, TransientNodeError } from '@flowtrace/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';
import { waitUntil } from '../support/stack-client.ts';

/** Nodes wait at their gate (when the run input names one) so that readers can connect mid-run. */
const gates = new Map<string, { open: () => void; opened: Promise<void> }>();
function gate(name: string) {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  gates.set(name, { open, opened });
  return open;
}

function executor(type: NodeType): NodeExecutor {
  return {
    type,
    async execute(ctx) {
      const input = ctx.input as Record<string, JsonValue>;
      const wait =
        typeof input.gate === 'string' && ctx.nodeId === 'first' ? gates.get(input.gate) : undefined;
      if (wait) await wait.opened;
      await ctx.ledger.recordModelCall({
        provider: 'simulated',
        operation: 'chat',
        requestModel: 'sim',
        responseModel: 'sim',
        responseId: null,
        inputTokens: 10,
        outputTokens: 5,
        cachedInputTokens: 0,
        reasoningTokens: 0,
        costUsd: 0.25,
        pricingVersion: null,
        latencyMs: 1,
        finishReason: 'stop',
      });
      if (input.flakyAt === ctx.nodeId && ctx.attempt < 2)
        throw new TransientNodeError('provider_error', 'flaky');
      if (input.failAt === ctx.nodeId) throw new PermanentNodeError('provider_rejected', 'told to fail');
      return { node: ctx.nodeId };
    },
  };
}

const llm = (id: string, dependsOn: string[] = []) => ({
  id,
  type: 'llm',
  dependsOn,
  retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 10, jitter: 0 } },
  config: { provider: 'simulated', model: 'sim', prompt: 'p' },
});
const chain = {
  name: 'stream-chain',
  nodes: [llm('first'), llm('second', ['first']), llm('third', ['second'])],
};

/** Reads an SSE response body to its end (or until `stop` says so) as raw text. */
async function readRaw(response: Response, stop: (text: string) => boolean = () => false): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
    if (stop(text)) {
      await reader.cancel();
      return text;
    }
  }
}

function parseFrames(text: string) {
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('id: '))
    .map((frame) => {
      const [id, event, data] = frame.split('\n');
      return {
        id: Number(id?.slice(4)),
        event: event?.slice(7),
        data: JSON.parse(data?.slice(6) ?? '') as RunEvent,
      };
    });
}

describe('live run events over Server-Sent Events', () => {
  let tracing: InMemoryTracing;
  let fleet: InProcessFleet;
  let baseUrl: string;
  let client: FlowtraceClient;
  const stream = (runId: string, headers: Record<string, string> = {}, key = fleet.apiKey) =>
    fetch(`${baseUrl}/v1/runs/${runId}/events/stream`, {
      headers: { authorization: `Bearer ${key}`, ...headers },
    });

  beforeAll(async () => {
    tracing = startInMemoryTracing();
    fleet = await startInProcessFleet({
      executors: (['llm', 'agent', 'connector', 'rag'] as const).map(executor),
      deferredSpans: tracing.deferredSpans,
      streamHeartbeatMs: 200,
      streamMaxPerTenant: 500,
    });
    await fleet.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(fleet.app.server.address() as AddressInfo).port}`;
    client = new FlowtraceClient({ baseUrl, apiKey: fleet.apiKey });
  });
  afterAll(async () => {
    await fleet?.close();
    await tracing?.shutdown();
  });

  it('streams every event in commit order, the same as /events, then ends after the terminal event', async () => {
    const open = gate('order');
    const { runId } = await client.submitRun({
      workflow: chain,
      input: { gate: 'order', flakyAt: 'second' },
    });
    const response = await stream(runId);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reading = readRaw(response);
    open();
    const text = await reading;
    const frames = parseFrames(text);
    const listed = (await client.listEvents(runId, { limit: 1000 })).events;
    expect(frames.map((f) => f.data)).toEqual(listed);
    expect(frames.map((f) => f.id)).toEqual(listed.map((_, i) => i + 1));
    expect(frames.map((f) => f.event)).toEqual(listed.map((e) => e.type));
    expect(frames.at(-1)?.event).toBe('run.completed');
    expect(frames.map((f) => `${f.event}${f.data.nodeId ? ` ${f.data.nodeId}` : ''}`)).toEqual([
      'run.queued',
      'run.started',
      'node.started first',
      'node.completed first',
      'node.started second',
      'node.retried second',
      'node.started second',
      'node.completed second',
      'node.started third',
      'node.completed third',
      'run.completed',
    ]);
    // Status changes carry attempts, errors, and each attempt's tokens and cost.
    const retried = frames.find((f) => f.event === 'node.retried')?.data;
    expect(retried).toMatchObject({
      attempt: 1,
      data: {
        error: { code: 'provider_error' },
        usage: { modelCalls: 1, inputTokens: 10, outputTokens: 5, costUsd: 0.25 },
      },
    });
    expect(frames.find((f) => f.event === 'node.completed')?.data.data).toEqual({
      usage: { modelCalls: 1, inputTokens: 10, outputTokens: 5, costUsd: 0.25 },
    });
    expect(await client.streamEvents(runId).next()).toMatchObject({ value: { seq: 1 } });
  });

  it('resumes after Last-Event-ID (or ?after=) with no gap and no duplicate, across a live run', async () => {
    const open = gate('resume');
    const { runId } = await client.submitRun({ workflow: chain, input: { gate: 'resume' } });
    // First connection: read up to node.started first, then drop it.
    const first = parseFrames(await readRaw(await stream(runId), (t) => t.includes('event: node.started')));
    expect(first.map((f) => f.id)).toEqual([1, 2, 3]);
    open();
    const resumed = parseFrames(await readRaw(await stream(runId, { 'last-event-id': '3' })));
    const all = (await client.listEvents(runId, { limit: 1000 })).events;
    expect([...first, ...resumed].map((f) => f.id)).toEqual(all.map((e) => e.seq));
    expect(resumed[0]?.id).toBe(4);
    const viaQuery = parseFrames(
      await readRaw(
        await fetch(`${baseUrl}/v1/runs/${runId}/events/stream?after=8`, {
          headers: { authorization: `Bearer ${fleet.apiKey}` },
        }),
      ),
    );
    expect(viaQuery.map((f) => f.id)).toEqual(all.filter((e) => e.seq > 8).map((e) => e.seq));
    // After the terminal event there is nothing left: the stream ends at once.
    expect(parseFrames(await readRaw(await stream(runId, { 'last-event-id': String(all.length) })))).toEqual(
      [],
    );
  });

  it('the client resumes a dropped stream from the last event it yielded', async () => {
    const open = gate('client');
    const { runId } = await client.submitRun({ workflow: chain, input: { gate: 'client', failAt: 'third' } });
    const seen: RunEvent[] = [];
    for await (const event of client.streamEvents(runId)) {
      seen.push(event);
      if (event.seq === 3) {
        // Drop every open stream of the process (as a restarting API would): the client reconnects.
        await fleet.app.server.closeAllConnections();
        open();
      }
    }
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));
    expect(seen.at(-1)?.type).toBe('run.failed');
    expect(seen.at(-1)?.data).toMatchObject({
      error: { code: 'provider_rejected', nodeId: 'third' },
      skippedNodes: [],
    });
    const run = await client.waitForRun(runId);
    expect(run.status).toBe('failed');
  });

  it('sends heartbeats while a run is idle', async () => {
    const open = gate('ping');
    const { runId } = await client.submitRun({ workflow: chain, input: { gate: 'ping' } });
    const text = await readRaw(await stream(runId), (t) => (t.match(/: ping\n\n/g) ?? []).length >= 2);
    expect(text).toContain('id: 3\nevent: node.started\n');
    open();
    expect((await client.waitForRun(runId)).status).toBe('completed');
  });

  it('answers 404 for another tenant, 400 for a bad Last-Event-ID, 401 without a key', async () => {
    const { runId } = await client.submitRun({ workflow: chain, input: {} });
    const other = await fleet.createKey('tenant-b');
    const response = await stream(runId, {}, other);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const bad = await stream(runId, { 'last-event-id': 'abc' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('Last-Event-ID');
    expect((await fetch(`${baseUrl}/v1/runs/${runId}/events/stream`)).status).toBe(401);
    const otherClient = new FlowtraceClient({ baseUrl, apiKey: other });
    await expect(otherClient.streamEvents(runId).next()).rejects.toSatisfy((e) => isApiError(e, 'not_found'));
    await client.waitForRun(runId);
  });

  it('serves 500 concurrent readers of one run from one reader of Postgres per wake-up', async () => {
    const open = gate('fanout');
    const { runId } = await client.submitRun({ workflow: chain, input: { gate: 'fanout' } });
    const readers = 500;
    const before = fleet.events.stats().reads;
    const responses = await Promise.all(Array.from({ length: readers }, () => stream(runId)));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const texts = Promise.all(responses.map((r) => readRaw(r)));
    await waitUntil(() => fleet.events.stats().subscribers === readers, 'every reader subscribed');
    expect(fleet.events.stats().runs).toBe(1);
    // One more for this tenant is over its limit on this process; another tenant is not affected.
    const over = await stream(runId);
    expect(over.status).toBe(429);
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe('concurrency_limited');
    const otherKey = await fleet.createKey('tenant-limits');
    const otherRun = await new FlowtraceClient({ baseUrl, apiKey: otherKey }).submitRun({ workflow: chain });
    const readsBeforeOther = fleet.events.stats().reads;
    const others = await stream(otherRun.runId, {}, otherKey);
    expect(others.status).toBe(200);
    expect(parseFrames(await readRaw(others)).at(-1)?.event).toBe('run.completed');
    const otherReads = fleet.events.stats().reads - readsBeforeOther;
    open();
    const results = (await texts).map(parseFrames);
    const expected = (await client.listEvents(runId, { limit: 1000 })).events.map((e) => e.seq);
    for (const frames of results) expect(frames.map((f) => f.id)).toEqual(expected);
    // Reads of event_logs: one to start (the others join from the hub's cache) and at most one per event
    // committed after it, whatever the number of readers (per-reader reads would be 500 or more).
    const reads = fleet.events.stats().reads - before - otherReads;
    expect(reads).toBeLessThanOrEqual(1 + expected.length);
    await waitUntil(() => fleet.events.stats().subscribers === 0, 'every reader gone');
  });
  // Last: it closes the server.
  it('ends open streams when the server closes, so that shutdown does not wait for them', async () => {
    const open = gate('close');
    const { runId } = await client.submitRun({ workflow: chain, input: { gate: 'close' } });
    const response = await stream(runId);
    let text = '';
    const reading = readRaw(response, (sofar) => {
      text = sofar;
      return false;
    });
    await waitUntil(() => text.includes('id: 3\n'), 'the events so far');
    await fleet.app.close();
    expect(parseFrames(await reading).map((f) => f.id)).toEqual([1, 2, 3]);
    expect(fleet.events.stats().subscribers).toBe(0);
    open();
  });
});
