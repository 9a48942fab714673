import type { ModelCallRecord } from '@flowtrace/workflow';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  ANTHROPIC_KEY,
  advisorTool,
  agentConfig,
  anthropic,
  byName,
  childrenOf,
  cmpTime,
  idOf,
  OPENAI_KEY,
  openai,
  parentOf,
  runAgent,
  target,
  telemetry,
  useAgentHarness,
  WEATHER_TOKEN,
  weatherTool,
} from './agent-test-harness.ts';

useAgentHarness();

describe('agent executor with the OpenAI wire format', () => {
  it('runs two tools over three model calls, feeds results back and records steps, calls and spans', async () => {
    target.on('GET', '/weather/New%20York', (req) => ({
      // Echoes the credential, as some APIs do: it must not reach the model, the steps or the spans.
      body: { tempC: -3, sky: 'snow', seenAuth: String(req.headers.authorization) },
    }));
    openai
      .queueCompletion({
        text: 'Let me check the weather.',
        toolCalls: [{ id: 'call_w', name: 'get_weather', arguments: { city: 'New York' } }],
        usage: { promptTokens: 100, completionTokens: 20 },
      })
      .queueCompletion({
        toolCalls: [{ id: 'call_s', name: 'style_advisor', arguments: { conditions: 'snow, -3C' } }],
        usage: { promptTokens: 150, completionTokens: 15 },
      })
      .queueCompletion({ text: 'Wear a warm coat.', usage: { promptTokens: 200, completionTokens: 10 } });

    const { output, error, steps, calls, spans, nodeSpan } = await runAgent(agentConfig());
    expect(error).toBeUndefined();

    // The HTTP tool: argument percent-encoded into the URL, credential header added.
    expect(target.requests).toHaveLength(1);
    expect(target.requests[0]?.url).toBe('/weather/New%20York');
    expect(target.requests[0]?.headers.authorization).toBe(`Bearer ${WEATHER_TOKEN}`);

    // What the model received.
    const requests = openai.chatRequests.map((r) => r.body as Record<string, unknown>);
    expect(requests).toHaveLength(3);
    expect(requests[0]).toMatchObject({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You dress Ada.' },
        { role: 'user', content: 'What should I wear in New York? (run run-42)' },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Current weather for a city',
            parameters: weatherTool().parameters,
          },
        },
        { type: 'function', function: { name: 'style_advisor', parameters: advisorTool.parameters } },
      ],
    });
    const second = requests[1]?.messages as Record<string, unknown>[];
    expect(second.slice(2)).toEqual([
      {
        role: 'assistant',
        content: 'Let me check the weather.',
        tool_calls: [
          {
            id: 'call_w',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"New York"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_w', content: expect.any(String) },
    ]);
    expect(JSON.parse(second[3]?.content as string)).toEqual({
      status: 200,
      body: { tempC: -3, sky: 'snow', seenAuth: '[REDACTED]' },
    });
    const third = requests[2]?.messages as Record<string, unknown>[];
    expect(third).toHaveLength(6);
    expect(third[4]).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'call_s' }] });
    expect(third[5]).toMatchObject({ role: 'tool', tool_call_id: 'call_s' });
    const advice = third[5]?.content as string;
    expect(advice.startsWith('[simulated]')).toBe(true);

    // Model calls: the agent's three plus the llm tool's sub-call, in order.
    expect(calls.map((c) => [c.record.provider, c.record.requestModel])).toEqual([
      ['openai', 'gpt-4o-mini'],
      ['openai', 'gpt-4o-mini'],
      ['simulated', 'sim-small'],
      ['openai', 'gpt-4o-mini'],
    ]);
    expect(calls.map((c) => c.record.inputTokens).filter((_, i) => i !== 2)).toEqual([100, 150, 200]);
    const sub = calls[2]?.record as ModelCallRecord;

    // Output: totals over every model call of the node.
    const totalCost = calls.reduce((sum, c) => sum + (c.record.costUsd ?? 0), 0);
    expect(output).toEqual({
      answer: 'Wear a warm coat.',
      steps: 3,
      toolCalls: 2,
      usage: { inputTokens: 450 + sub.inputTokens, outputTokens: 45 + sub.outputTokens },
      costUsd: expect.closeTo(totalCost, 12),
    });

    // Span tree: invoke_agent → chat ×3 and execute_tool ×2; the sub-call's chat under its tool span.
    const agent = telemetry.span('invoke_agent outfit-agent');
    expect(agent.kind).toBe(SpanKind.INTERNAL);
    expect(parentOf(agent)).toBe(idOf(nodeSpan));
    expect(childrenOf(spans, agent).map((s) => [s.name, s.kind])).toEqual([
      ['chat gpt-4o-mini', SpanKind.CLIENT],
      ['execute_tool get_weather', SpanKind.INTERNAL],
      ['chat gpt-4o-mini', SpanKind.CLIENT],
      ['execute_tool style.advisor', SpanKind.INTERNAL],
      ['chat gpt-4o-mini', SpanKind.CLIENT],
    ]);
    const weatherSpan = telemetry.span('execute_tool get_weather');
    const advisorSpan = telemetry.span('execute_tool style.advisor');
    const subChat = telemetry.span('chat sim-small');
    expect(parentOf(subChat)).toBe(idOf(advisorSpan));
    expect(agent.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'outfit-agent',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': output?.usage.inputTokens,
      'gen_ai.usage.output_tokens': output?.usage.outputTokens,
      'gen_ai.usage.cost': output?.costUsd,
      'flowtrace.agent.model_calls': 3,
      'flowtrace.agent.tool_calls': 2,
      'flowtrace.agent.tool_errors': 0,
    });
    expect(weatherSpan.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'get_weather',
      'gen_ai.tool.call.id': 'call_w',
      'gen_ai.tool.type': 'extension',
      'gen_ai.tool.description': 'Current weather for a city',
    });
    expect(advisorSpan.attributes).toMatchObject({
      'gen_ai.tool.name': 'style.advisor',
      'gen_ai.tool.call.id': 'call_s',
      'gen_ai.tool.type': 'function',
    });
    expect(weatherSpan.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(weatherSpan.attributes).not.toHaveProperty('gen_ai.tool.call.arguments');
    const agentChats = byName(spans, 'chat gpt-4o-mini').sort((a, b) => cmpTime(a.startTime, b.startTime));
    expect(agentChats.map((s) => s.attributes['gen_ai.usage.input_tokens'])).toEqual([100, 150, 200]);

    // Each model call was recorded inside its own chat span.
    expect(calls.map((c) => c.spanId)).toEqual([
      idOf(agentChats[0]),
      idOf(agentChats[1]),
      idOf(subChat),
      idOf(agentChats[2]),
    ]);

    // Steps: one per tool call, recorded inside its execute_tool span, then the answer in the agent span.
    expect(steps.map((s) => s.record)).toEqual([
      {
        step: 1,
        thought: 'Let me check the weather.',
        toolName: 'get_weather',
        toolCallId: 'call_w',
        toolInput: { city: 'New York' },
        observation: { status: 200, body: { tempC: -3, sky: 'snow', seenAuth: '[REDACTED]' } },
        isError: false,
        inputTokens: 100,
        outputTokens: 20,
      },
      {
        step: 2,
        thought: null,
        toolName: 'style.advisor',
        toolCallId: 'call_s',
        toolInput: { conditions: 'snow, -3C' },
        observation: advice,
        isError: false,
        inputTokens: 150,
        outputTokens: 15,
      },
      {
        step: 3,
        thought: 'Wear a warm coat.',
        toolName: null,
        toolCallId: null,
        toolInput: null,
        observation: null,
        isError: false,
        inputTokens: 200,
        outputTokens: 10,
      },
    ]);
    expect(steps.map((s) => s.spanId)).toEqual([idOf(weatherSpan), idOf(advisorSpan), idOf(agent)]);

    // Secrets never reach telemetry.
    const dump = JSON.stringify(spans.map((s) => ({ a: s.attributes, e: s.events, st: s.status })));
    for (const secret of [WEATHER_TOKEN, OPENAI_KEY, ANTHROPIC_KEY]) expect(dump).not.toContain(secret);
  });

  it('puts redacted tool arguments and results on execute_tool spans only when capture is on', async () => {
    target.on('GET', '/weather/Oslo', (req) => ({
      body: { sky: 'rain', echo: String(req.headers.authorization) },
    }));
    openai
      .queueCompletion({ toolCalls: [{ id: 'c1', name: 'get_weather', arguments: { city: 'Oslo' } }] })
      .queueCompletion({ text: 'Umbrella.' });
    const { error } = await runAgent(agentConfig({ tools: [weatherTool()] }), {
      capture: { enabled: true, maxLength: 4096, redact: [] },
    });
    expect(error).toBeUndefined();
    const span = telemetry.span('execute_tool get_weather');
    expect(JSON.parse(span.attributes['gen_ai.tool.call.arguments'] as string)).toEqual({ city: 'Oslo' });
    expect(JSON.parse(span.attributes['gen_ai.tool.call.result'] as string)).toEqual({
      status: 200,
      body: { sky: 'rain', echo: '[REDACTED]' },
    });
    const dump = JSON.stringify(telemetry.spans().map((s) => s.attributes));
    expect(dump).not.toContain(WEATHER_TOKEN);
  });
});

describe('agent executor with the Anthropic wire format', () => {
  it('sends tool_use / tool_result blocks and finishes with the answer', async () => {
    target.on('GET', '/weather/Oslo', { body: { sky: 'rain' } });
    anthropic
      .queueMessage({
        text: 'Checking.',
        toolUses: [{ id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } }],
        usage: { inputTokens: 60, outputTokens: 12 },
      })
      .queueMessage({ text: 'Bring an umbrella.', usage: { inputTokens: 90, outputTokens: 6 } });

    const { output, error, steps } = await runAgent(
      agentConfig({ provider: 'anthropic', model: 'claude-haiku-4-5', tools: [weatherTool()] }),
    );
    expect(error).toBeUndefined();
    const bodies = anthropic.messageRequests.map((r) => r.body as Record<string, unknown>);
    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toMatchObject({
      system: 'You dress Ada.',
      tools: [
        { name: 'get_weather', description: 'Current weather for a city', input_schema: { type: 'object' } },
      ],
    });
    expect(bodies[1]?.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'What should I wear in New York? (run run-42)' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '{"status":200,"body":{"sky":"rain"}}' },
        ],
      },
    ]);
    expect(output).toMatchObject({
      answer: 'Bring an umbrella.',
      steps: 2,
      toolCalls: 1,
      usage: { inputTokens: 150, outputTokens: 18 },
    });
    expect(output?.costUsd).toBeCloseTo((150 * 1 + 18 * 5) / 1_000_000, 12);
    expect(steps.map((s) => [s.record.toolName, s.record.toolCallId, s.record.thought])).toEqual([
      ['get_weather', 'toolu_1', 'Checking.'],
      [null, null, 'Bring an umbrella.'],
    ]);
    expect(telemetry.span('invoke_agent outfit-agent').attributes['gen_ai.provider.name']).toBe('anthropic');
  });
});

describe('agent executor with the simulated provider', () => {
  it('drives a two-tool agent deterministically', async () => {
    target.on('GET', '/weather', (req) => ({ body: { city: req.query.city ?? null, sky: 'fog' } }));
    const config = agentConfig({
      provider: 'simulated',
      model: 'sim-large',
      tools: [
        { ...weatherTool(), url: `${target.url}/weather?city={{ args.city }}` },
        { ...advisorTool, name: 'advisor' },
      ],
    });
    const first = await runAgent(config);
    const firstSpans = first.spans.map((s) => s.name);
    const second = await runAgent(config);

    expect(first.error).toBeUndefined();
    expect(first.output).toMatchObject({ steps: 3, toolCalls: 2 });
    expect(first.output?.answer.startsWith('[simulated]')).toBe(true);
    expect(first.output?.costUsd).toBeGreaterThan(0);
    // The simulated model fills string arguments from the prompt.
    expect(target.requests[0]?.query.city).toBe('What should I wear in New York? (run run-42)');
    expect(first.steps.map((s) => s.record.toolName)).toEqual(['get_weather', 'advisor', null]);
    expect(first.steps[0]?.record.observation).toEqual({
      status: 200,
      body: { city: 'What should I wear in New York? (run run-42)', sky: 'fog' },
    });
    expect(first.calls.map((c) => c.record.requestModel)).toEqual([
      'sim-large',
      'sim-large',
      'sim-small',
      'sim-large',
    ]);

    expect(second.output).toEqual(first.output);
    expect(second.steps.map((s) => s.record)).toEqual(first.steps.map((s) => s.record));
    expect(second.spans.map((s) => s.name)).toEqual(firstSpans);
  });
});
