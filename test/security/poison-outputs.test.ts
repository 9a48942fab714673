import { createExecutorSuite, loadExecutorsConfig } from '@flowtrace/executors';
import { FakeOpenAiServer, startTargetServer, type TargetServer } from '@flowtrace/executors/testing';
import { createLogger, noopDeferredSpanEmitter } from '@flowtrace/telemetry';
import { REPLACEMENT_CHARACTER as R } from '@flowtrace/workflow';
import { nestedJsonText } from '@flowtrace/workflow/testing';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';
import { toolCallingScript } from '../support/openai-tool-script.ts';

/**
 * Outputs that Postgres cannot store (U+0000, unpaired surrogates, JSON nested past the stack limits) from
 * a real loopback target and a provider speaking OpenAI's wire format, through the real executors, the
 * worker pool and the reconciler (re-driving after 3 s without a heartbeat). Before, such an outcome could
 * not be written, so the node was re-executed (its target called again) about every reconciler pass, forever.
 */
describe('poison outputs end their run in bounded time, calling the target at most as its retry policy allows', () => {
  let target: TargetServer;
  let provider: FakeOpenAiServer;
  let fleet: InProcessFleet;
  const auth = () => ({ authorization: `Bearer ${fleet.apiKey}` });
  const hits = (path: string) => target.requests.filter((r) => r.path === path).length;
  const submit = async (workflow: unknown) => {
    const response = await fleet.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: auth(),
      payload: { workflow: workflow as object },
    });
    expect(response.statusCode, response.body).toBe(202);
    return response.json().runId as string;
  };
  const events = async (runId: string) =>
    (
      await fleet.app.inject({ method: 'GET', url: `/v1/runs/${runId}/events?limit=1000`, headers: auth() })
    ).json().events as {
      type: string;
      nodeId: string | null;
      message: string | null;
      data: Record<string, unknown>;
    }[];
  const connector = (id: string, path: string, extra: Record<string, unknown> = {}) => ({
    id,
    type: 'connector',
    retry: { attempts: 1 },
    config: { url: `${target.url}${path}` },
    ...extra,
  });

  beforeAll(async () => {
    [target, provider] = await Promise.all([startTargetServer(), new FakeOpenAiServer().start()]);
    const suite = createExecutorSuite(
      loadExecutorsConfig({
        FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1',
        OPENAI_BASE_URL: provider.baseUrl,
        OPENAI_API_KEY: 'sk-poison',
      }),
      { tracer: trace.getTracer('test'), logger: createLogger({ name: 'test', level: 'silent' }) },
    );
    fleet = await startInProcessFleet({
      executors: suite.executors,
      deferredSpans: noopDeferredSpanEmitter,
      reconciler: true,
    });
  });
  afterAll(async () => {
    await fleet?.close();
    await Promise.all([target?.close(), provider?.close()]);
  });

  it('stores a JSON body with NUL and lone surrogates repaired, reports it, and passes the repaired text on', async () => {
    target.on('GET', '/poison-json', {
      headers: { 'content-type': 'application/json' },
      body: '{"text":"a\\u0000b","lone":"\\ud800","pair":"\\ud83d\\ude00","key\\u0000":1,"list":[{"deep":"\\udfffz"}]}',
    });
    const runId = await submit({
      name: 'poison-json',
      nodes: [
        connector('fetch', '/poison-json'),
        {
          id: 'echo',
          type: 'llm',
          dependsOn: ['fetch'],
          config: {
            provider: 'openai',
            model: 'gpt-4o-mini',
            prompt: 'Repeat {{nodes.fetch.output.body.text}}',
          },
        },
      ],
    });
    const run = await fleet.waitForRun(runId);
    expect(run.status).toBe('completed');
    expect(hits('/poison-json')).toBe(1);
    const fetch = (
      run.nodes as { nodeId: string; attempts: number; output: { body: Record<string, unknown> } }[]
    ).find((n) => n.nodeId === 'fetch');
    expect(fetch?.attempts).toBe(1);
    expect(fetch?.output.body).toEqual({
      text: `a${R}b`,
      lone: R,
      pair: '😀',
      [`key${R}`]: 1,
      list: [{ deep: `${R}z` }],
    });
    // The successor read the repaired text.
    const prompt = JSON.stringify(provider.chatRequests.at(-1)?.body);
    expect(prompt).toContain(`Repeat a${R}b`);
    const sanitized = (await events(runId)).filter((e) => e.type === 'node.output_sanitized');
    expect(sanitized).toHaveLength(1);
    expect(sanitized[0]?.nodeId).toBe('fetch');
    expect(sanitized[0]?.data).toMatchObject({ replacements: 4 });
    expect(sanitized[0]?.data.paths).toEqual(
      expect.arrayContaining(['output.body.text', 'output.body.lone', 'output.body.list[0].deep']),
    );
  });

  it('stores a text body with raw NUL bytes repaired', async () => {
    target.on('GET', '/poison-text', {
      headers: { 'content-type': 'text/plain' },
      body: Buffer.from('line1\u0000line2', 'utf8'),
    });
    const runId = await submit({ name: 'poison-text', nodes: [connector('fetch', '/poison-text')] });
    const run = await fleet.waitForRun(runId);
    expect(run.status).toBe('completed');
    expect(hits('/poison-text')).toBe(1);
    expect((run.nodes as { output: { body: unknown } }[])[0]?.output.body).toBe(`line1${R}line2`);
    expect((run.output as { fetch: { body: unknown } }).fetch.body).toBe(`line1${R}line2`);
  });

  it('fails a node once for a 4xx whose body (in the error message) holds NUL', async () => {
    target.on('GET', '/poison-400', { status: 400, body: Buffer.from('bad \u0000 request', 'utf8') });
    const runId = await submit({ name: 'poison-400', nodes: [connector('fetch', '/poison-400')] });
    const run = await fleet.waitForRun(runId);
    expect(run.status).toBe('failed');
    expect(hits('/poison-400')).toBe(1);
    expect(run.error).toMatchObject({ code: 'connector_error' });
    expect((run.error as { message: string }).message).toContain(`bad ${R} request`);
  });

  it('retries a 5xx whose body holds NUL exactly as its policy says, then fails', async () => {
    target.on('GET', '/poison-503', { status: 503, body: Buffer.from('down \u0000', 'utf8') });
    const runId = await submit({
      name: 'poison-503',
      nodes: [
        connector('fetch', '/poison-503', {
          retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 20, jitter: 0 } },
        }),
      ],
    });
    const run = await fleet.waitForRun(runId);
    expect(run.status).toBe('failed');
    expect(hits('/poison-503')).toBe(2);
    const retried = (await events(runId)).filter((e) => e.type === 'node.retried');
    expect(retried).toHaveLength(1);
    expect(retried[0]?.message).toContain(`down ${R}`);
  });

  it('fails a node whose output nests past the storable depth for good, without calling again', async () => {
    target.on('GET', '/poison-deep', {
      headers: { 'content-type': 'application/json' },
      body: nestedJsonText(100_000),
    });
    const runId = await submit({
      name: 'poison-deep',
      nodes: [connector('fetch', '/poison-deep', { retry: { attempts: 3 } })],
    });
    const run = await fleet.waitForRun(runId);
    expect(run.status).toBe('failed');
    expect(hits('/poison-deep')).toBe(1);
    expect(run.error).toMatchObject({ code: 'output_not_storable' });
    // Redaction copies it at any depth; the check of the output refuses it, naming where.
    expect((run.error as { message: string }).message).toMatch(/output\S* is nested deeper than 512 levels/);
  });

  it('stores a provider reply with NUL and lone surrogates in its text, id and model, and its cost row', async () => {
    provider.queueCompletion({
      text: `hello\u0000 \ud800`,
      id: 'chatcmpl-\u0000x',
      model: 'gpt-4o-mini\u0000',
    });
    const runId = await submit({
      name: 'poison-llm',
      nodes: [
        {
          id: 'ask',
          type: 'llm',
          retry: { attempts: 1 },
          config: { provider: 'openai', model: 'gpt-4o-mini', prompt: 'hi' },
        },
      ],
    });
    const run = await fleet.waitForRun(runId);
    expect(run.status).toBe('completed');
    expect(JSON.stringify((run.nodes as { output: unknown }[])[0]?.output)).toContain(`hello${R} ${R}`);
    const costs = await fleet.db.handle
      .sql`select response_id, response_model from model_cost_logs where run_id = ${runId}`;
    expect(costs).toEqual([{ response_id: `chatcmpl-${R}x`, response_model: `gpt-4o-mini${R}` }]);
  });

  it("stores an agent's steps when a tool observation and the model's reply hold NUL", async () => {
    target.on('GET', '/poison-tool', {
      headers: { 'content-type': 'application/json' },
      body: '{"answer":"x\\u0000y","bad":"\\udc00"}',
    });
    provider.setHandler(toolCallingScript(() => ({})));
    try {
      const runId = await submit({
        name: 'poison-agent',
        nodes: [
          {
            id: 'agent',
            type: 'agent',
            retry: { attempts: 1 },
            config: {
              name: 'poisoned',
              provider: 'openai',
              model: 'gpt-4o-mini',
              prompt: 'look it up',
              tools: [
                {
                  type: 'http',
                  name: 'lookup',
                  description: 'Looks it up',
                  url: `${target.url}/poison-tool`,
                },
              ],
            },
          },
        ],
      });
      const run = await fleet.waitForRun(runId);
      expect(run.status).toBe('completed');
      expect(hits('/poison-tool')).toBe(1);
      const steps = await fleet.db.handle
        .sql`select tool_name, observation from agent_trace_history where run_id = ${runId} order by step`;
      // The executor may drop the NUL itself or leave it to the store, which replaces it; either way the
      // step is stored and holds nothing Postgres refuses.
      const observed = steps.map((s) => JSON.stringify(s.observation)).join('');
      expect(observed).toMatch(new RegExp(`x${R}?y`));
      expect(observed).not.toMatch(/\\u0000|\\ud[89ab]|\\ud[c-f]/);
    } finally {
      provider.setHandler(undefined);
    }
  });
});
