import { PermanentNodeError, TransientNodeError } from '@flowtrace/workflow';
import { SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  advisorTool,
  agentConfig,
  idOf,
  messagesOf,
  openai,
  runAgent,
  target,
  telemetry,
  useAgentHarness,
  weatherTool,
} from './agent-test-harness.ts';

useAgentHarness();

describe('agent executor: tool errors go back to the model', () => {
  it('feeds an HTTP 500, a refused destination, an unknown tool and invalid arguments back, then answers', async () => {
    target.on('GET', '/weather/Lima', { status: 500, body: { error: 'weather backend down' } });
    const metadataTool = {
      type: 'http' as const,
      name: 'read_metadata',
      description: 'Reads instance metadata',
      url: 'http://169.254.169.254/latest/meta-data/{{ args.key }}',
      parameters: { type: 'object', properties: { key: { type: 'string' } } },
    };
    openai
      .queueCompletion({
        text: 'Two lookups at once.',
        toolCalls: [
          { id: 'c_500', name: 'get_weather', arguments: { city: 'Lima' } },
          { id: 'c_ssrf', name: 'read_metadata', arguments: { key: 'iam' } },
        ],
        usage: { promptTokens: 50, completionTokens: 30 },
      })
      .queueCompletion({
        toolCalls: [
          { id: 'c_unknown', name: 'launch_rocket', arguments: {} },
          { id: 'c_json', name: 'get_weather', arguments: '{"city": "Li' },
          { id: 'c_missing', name: 'get_weather', arguments: {} },
        ],
      })
      .queueCompletion({ text: 'Sorry, the weather service is unavailable.' });

    const { output, error, steps, spans } = await runAgent(
      agentConfig({ tools: [weatherTool(), metadataTool] }),
    );
    expect(error).toBeUndefined();
    expect(output).toMatchObject({
      answer: 'Sorry, the weather service is unavailable.',
      steps: 3,
      toolCalls: 5,
    });
    // Only the 500 reached a server: the metadata address was refused before connecting.
    expect(target.requests.map((r) => r.url)).toEqual(['/weather/Lima']);

    const toolMessages = (n: number) =>
      messagesOf(n)
        .filter((m) => m.role === 'tool')
        .map((m) => [m.tool_call_id, JSON.parse(m.content as string).error as string]);
    const second = toolMessages(1);
    expect(second.map(([id]) => id)).toEqual(['c_500', 'c_ssrf']);
    expect(second[0]?.[1]).toMatch(
      /GET http:\/\/127\.0\.0\.1:\d+\/weather\/Lima returned HTTP 500.*backend down/,
    );
    expect(second[1]?.[1]).toMatch(/"169\.254\.169\.254" refused: link-local range/);
    const third = toolMessages(2);
    expect(third.map(([id]) => id)).toEqual(['c_500', 'c_ssrf', 'c_unknown', 'c_json', 'c_missing']);
    expect(third[2]?.[1]).toBe(
      'there is no tool "launch_rocket"; the available tools are "get_weather", "read_metadata"',
    );
    expect(third[3]?.[1]).toMatch(/arguments for tool "get_weather" are not valid JSON \(\{"city": "Li\)/);
    expect(third[4]?.[1]).toBe('tool "get_weather" is missing required argument "city"');

    expect(steps.map((s) => [s.record.step, s.record.toolCallId, s.record.isError])).toEqual([
      [1, 'c_500', true],
      [2, 'c_ssrf', true],
      [3, 'c_unknown', true],
      [4, 'c_json', true],
      [5, 'c_missing', true],
      [6, null, false],
    ]);
    // Tokens of a response with several tool calls sit on its first row.
    expect(steps.slice(0, 2).map((s) => [s.record.inputTokens, s.record.outputTokens])).toEqual([
      [50, 30],
      [0, 0],
    ]);
    expect(steps[0]?.record.thought).toBe('Two lookups at once.');
    expect(steps[1]?.record.thought).toBeNull();
    expect(steps[3]?.record.toolInput).toBe('{"city": "Li');

    const toolSpans = spans.filter((s) => s.name.startsWith('execute_tool '));
    expect(toolSpans.map((s) => [s.name, s.attributes['error.type'], s.status.code])).toEqual([
      ['execute_tool get_weather', '500', SpanStatusCode.ERROR],
      ['execute_tool read_metadata', 'connector_blocked', SpanStatusCode.ERROR],
      ['execute_tool launch_rocket', 'unknown_tool', SpanStatusCode.ERROR],
      ['execute_tool get_weather', 'invalid_arguments', SpanStatusCode.ERROR],
      ['execute_tool get_weather', 'invalid_arguments', SpanStatusCode.ERROR],
    ]);
    expect(toolSpans[1]?.attributes['flowtrace.connector.blocked_rule']).toMatch(/link-local/);
    expect(toolSpans[0]?.events.map((e) => e.name)).toContain('exception');
    // Content capture is off: the model's arguments (here in the URL) stay out of span statuses and events.
    expect(toolSpans[0]?.status.message).toBe('tool "get_weather" failed (500)');
    const spanText = JSON.stringify(toolSpans.map((s) => [s.status, s.events.map((e) => e.attributes)]));
    expect(spanText).not.toContain('Lima');
    expect(spanText).not.toContain('{"city": "Li');
    expect(steps.slice(0, 5).map((s) => s.spanId)).toEqual(toolSpans.map(idOf));
    const agent = telemetry.span('invoke_agent outfit-agent');
    expect(agent.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(agent.attributes['flowtrace.agent.tool_errors']).toBe(5);
  });

  it('checks arguments against the parameters schema before the tool runs, and tells the model what is wrong', async () => {
    target.on('GET', '/weather/Lima', { body: { sky: 'fog' } });
    const strictWeather = {
      ...weatherTool(),
      parameters: {
        type: 'object',
        properties: { city: { type: 'string', minLength: 2 }, units: { enum: ['metric', 'imperial'] } },
        required: ['city'],
        additionalProperties: false,
      },
    };
    openai
      .queueCompletion({
        toolCalls: [
          { id: 'c_type', name: 'get_weather', arguments: { city: 42 } },
          { id: 'c_enum', name: 'get_weather', arguments: { city: 'Lima', units: 'kelvin' } },
          { id: 'c_extra', name: 'get_weather', arguments: { city: 'Lima', country: 'PE' } },
        ],
      })
      .queueCompletion({ toolCalls: [{ id: 'c_ok', name: 'get_weather', arguments: { city: 'Lima' } }] })
      .queueCompletion({ text: 'Foggy in Lima.' });

    const { output, error, steps, spans } = await runAgent(agentConfig({ tools: [strictWeather] }));
    expect(error).toBeUndefined();
    expect(output).toMatchObject({ answer: 'Foggy in Lima.', toolCalls: 4 });
    // Only the call whose arguments matched reached the server.
    expect(target.requests.map((r) => r.url)).toEqual(['/weather/Lima']);
    const fedBack = messagesOf(1)
      .filter((m) => m.role === 'tool')
      .map((m) => JSON.parse(m.content as string).error as string);
    const refused =
      'the arguments for tool "get_weather" do not match its parameters schema: the arguments at';
    expect(fedBack).toEqual([
      `${refused} /city must be string; call it again with arguments that do`,
      `${refused} /units must be one of "metric", "imperial"; call it again with arguments that do`,
      // additionalProperties fails at the object itself.
      'the arguments for tool "get_weather" do not match its parameters schema: the arguments must not have the property "country"; call it again with arguments that do',
    ]);
    expect(steps.map((s) => [s.record.toolCallId, s.record.isError])).toEqual([
      ['c_type', true],
      ['c_enum', true],
      ['c_extra', true],
      ['c_ok', false],
      [null, false],
    ]);
    expect(
      spans.filter((s) => s.name === 'execute_tool get_weather').map((s) => s.attributes['error.type']),
    ).toEqual(['invalid_arguments', 'invalid_arguments', 'invalid_arguments', undefined]);
  });

  it('cuts large observations: the model gets 32 KiB, the stored step the configured limit', async () => {
    target.on('GET', '/weather/Big', { body: 'x'.repeat(50_000) });
    openai
      .queueCompletion({ toolCalls: [{ id: 'c_big', name: 'get_weather', arguments: { city: 'Big' } }] })
      .queueCompletion({ text: 'Done.' });
    const { error, steps } = await runAgent(agentConfig({ tools: [weatherTool()] }), {
      maxStoredChars: 1000,
    });
    expect(error).toBeUndefined();
    const fed = messagesOf(1).at(-1) as { content: string } | undefined;
    expect(fed?.content.length).toBeLessThan(33_000);
    expect(fed?.content).toMatch(/…\[truncated \d+ characters\]$/);
    const observation = steps[0]?.record.observation;
    expect(typeof observation).toBe('string');
    expect((observation as string).startsWith('{"status":200,"body":"xxx')).toBe(true);
    expect(observation).toMatch(/^.{1000}…\[truncated \d+ characters\]$/s);
  });
});

describe('agent executor: budgets', () => {
  it('fails with budget_exceeded when maxSteps model calls end without an answer, without running the last tools', async () => {
    target.on('GET', '/weather/Rome', { body: { sky: 'sun' } });
    openai
      .queueCompletion({ toolCalls: [{ id: 'a', name: 'get_weather', arguments: { city: 'Rome' } }] })
      .queueCompletion({ toolCalls: [{ id: 'b', name: 'get_weather', arguments: { city: 'Rome' } }] });
    const { error, steps } = await runAgent(agentConfig({ tools: [weatherTool()], maxSteps: 2 }));
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect(error).toMatchObject({
      code: 'budget_exceeded',
      nodeId: 'advise',
      details: { budget: 'maxSteps', limit: 2 },
    });
    expect((error as Error).message).toContain('maxSteps of 2 model calls without a final answer');
    expect(openai.chatRequests).toHaveLength(2);
    expect(target.requests).toHaveLength(1);
    expect(steps.map((s) => [s.record.toolCallId, s.record.isError])).toEqual([
      ['a', false],
      ['b', true],
    ]);
    expect(steps[1]?.record.observation).toEqual({ error: expect.stringMatching(/^not run: agent/) });
    const agent = telemetry.span('invoke_agent outfit-agent');
    expect(agent.status.code).toBe(SpanStatusCode.ERROR);
    expect(agent.attributes['error.type']).toBe('budget_exceeded');
    expect(steps[1]?.spanId).toBe(idOf(agent));
  });

  it('fails with budget_exceeded naming the token budget and the amount used', async () => {
    openai.queueCompletion({
      toolCalls: [{ id: 'a', name: 'get_weather', arguments: { city: 'Rome' } }],
      usage: { promptTokens: 90, completionTokens: 20 },
    });
    const { error, output } = await runAgent(
      agentConfig({ tools: [weatherTool()], budget: { maxTotalTokens: 100 } }),
    );
    expect(output).toBeUndefined();
    expect(error).toMatchObject({
      code: 'budget_exceeded',
      details: { budget: 'maxTotalTokens', limit: 100, used: 110, modelCalls: 1 },
    });
    expect((error as Error).message).toBe(
      'agent "outfit-agent" used 110 tokens (90 input, 20 output) after 1 model call, over its budget.maxTotalTokens of 100',
    );
    expect(target.requests).toHaveLength(0);
    const agent = telemetry.span('invoke_agent outfit-agent');
    expect(agent.attributes['gen_ai.usage.input_tokens']).toBe(90);
  });

  it('fails with budget_exceeded over the cost budget, and when a model without a price makes it unenforceable', async () => {
    openai.queueCompletion({ text: 'ok', usage: { promptTokens: 10_000, completionTokens: 0 } });
    const over = await runAgent(agentConfig({ budget: { maxCostUsd: 0.001 } }));
    expect(over.error).toMatchObject({
      code: 'budget_exceeded',
      details: { budget: 'maxCostUsd', used: 0.0015 },
    });
    expect((over.error as Error).message).toContain('spent $0.0015 after 1 model call');
    // The answer that blew the budget is still recorded.
    expect(over.steps.map((s) => s.record.thought)).toEqual(['ok']);

    openai.queueCompletion({ text: 'ok' });
    const unpriced = await runAgent(agentConfig({ model: 'mystery-model', budget: { maxCostUsd: 1 } }));
    expect(unpriced.error).toMatchObject({
      code: 'budget_exceeded',
      details: { unpriced: ['openai/mystery-model'] },
    });
    expect((unpriced.error as Error).message).toContain('cannot be enforced');
  });
});

describe('agent executor: failures that propagate', () => {
  it('propagates provider errors for the engine to retry', async () => {
    target.on('GET', '/weather/Rome', { body: { sky: 'sun' } });
    openai
      .queueCompletion({ toolCalls: [{ id: 'a', name: 'get_weather', arguments: { city: 'Rome' } }] })
      .failNext(503, { retryAfter: 2 });
    const { error, steps } = await runAgent(agentConfig({ tools: [weatherTool()] }));
    expect(error).toBeInstanceOf(TransientNodeError);
    expect((error as TransientNodeError).retryAfterMs).toBe(2000);
    expect(steps).toHaveLength(1);
  });

  it('propagates an abort during a tool call', async () => {
    const controller = new AbortController();
    const reason = new Error('run cancelled');
    // Cancelled while the tool's request is in flight; the target never answers, so only the abort ends it.
    target.on('GET', '/weather/Slow', () => {
      controller.abort(reason);
      return new Promise<never>(() => {});
    });
    openai.queueCompletion({ toolCalls: [{ id: 'a', name: 'get_weather', arguments: { city: 'Slow' } }] });
    const { error, steps } = await runAgent(agentConfig({ tools: [weatherTool()] }), {
      signal: controller.signal,
    });
    expect(error).toBe(reason);
    expect(steps).toHaveLength(0);
    expect(openai.chatRequests).toHaveLength(1);
    expect(telemetry.span('execute_tool get_weather').status.code).toBe(SpanStatusCode.ERROR);
  });

  it('fails permanently before any call on a definition problem', async () => {
    const missing = await runAgent(agentConfig({ prompt: 'Hi {{ input.nope }}' }));
    expect(missing.error).toMatchObject({ code: 'template_variable_missing', nodeId: 'advise' });
    expect(missing.error).toBeInstanceOf(PermanentNodeError);
    const clash = await runAgent(
      agentConfig({ tools: [advisorTool, { ...advisorTool, name: 'style_advisor' }] }),
    );
    expect(clash.error).toMatchObject({ code: 'invalid_definition' });
    expect((clash.error as Error).message).toContain('"style.advisor" and "style_advisor"');
    // A schema stored before registration compiled schemas: the node fails, and no model call is paid for.
    const badSchema = await runAgent(
      agentConfig({ tools: [{ ...weatherTool(), parameters: { type: 'object', requried: ['city'] } }] }),
    );
    expect(badSchema.error).toBeInstanceOf(PermanentNodeError);
    expect(badSchema.error).toMatchObject({
      code: 'invalid_json_schema',
      nodeId: 'advise',
      details: { tool: 'get_weather' },
    });
    expect((badSchema.error as Error).message).toContain('unknown keyword: "requried"');
    expect(openai.requests).toHaveLength(0);
  });
});
