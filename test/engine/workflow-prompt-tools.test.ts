import { WorkflowCatalog } from '@flowtrace/engine';
import { createExecutorSuite, loadExecutorsConfig } from '@flowtrace/executors';
import { FakeOpenAiServer } from '@flowtrace/executors/testing';
import { createLogger, noopDeferredSpanEmitter } from '@flowtrace/telemetry';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';
import { toolCallingScript } from '../support/openai-tool-script.ts';

/** Agent tools that run another registered workflow's LLM prompt, resolved per tenant. */
describe("agent tools from other workflows' LLM prompts", () => {
  let provider: FakeOpenAiServer;
  let fleet: InProcessFleet;
  let catalog: WorkflowCatalog | undefined;
  const auth = () => ({ authorization: `Bearer ${fleet.apiKey}` });

  beforeAll(async () => {
    provider = await new FakeOpenAiServer().start();
    provider.setHandler(toolCallingScript(() => ({ text: 'hello', language: 'French' })));
    const suite = createExecutorSuite(
      loadExecutorsConfig({ OPENAI_BASE_URL: provider.baseUrl, OPENAI_API_KEY: 'sk-test' }),
      {
        tracer: trace.getTracer('test'),
        logger: createLogger({ name: 'test', level: 'silent' }),
        resolvePrompt: async (ref) => catalog?.llmNode(ref),
      },
    );
    fleet = await startInProcessFleet({ executors: suite.executors, deferredSpans: noopDeferredSpanEmitter });
    catalog = new WorkflowCatalog({ sql: fleet.db.handle.sql });
  });
  afterAll(async () => {
    await fleet?.close();
    await provider?.close();
  });

  const registerTranslator = async (key = fleet.apiKey) =>
    (
      await fleet.app.inject({
        method: 'POST',
        url: '/v1/workflows',
        headers: { authorization: `Bearer ${key}` },
        payload: {
          name: 'translator',
          nodes: [
            {
              id: 'translate',
              type: 'llm',
              config: {
                provider: 'openai',
                model: 'gpt-4o-mini',
                prompt: 'Translate "{{input.text}}" to {{input.language}}',
              },
            },
          ],
        },
      })
    ).json().id as string;

  const agentWorkflow = (workflowId: string, nodeId = 'translate') => ({
    name: 'uses-translator',
    nodes: [
      {
        id: 'agent',
        type: 'agent',
        config: {
          name: 'polyglot',
          provider: 'openai',
          model: 'gpt-4o-mini',
          prompt: 'Say hello in French',
          tools: [{ type: 'llm', name: 'translate', description: 'Translate text', workflowId, nodeId }],
        },
      },
    ],
  });

  it("offers the prompt's input variables as arguments and runs the prompt with them", async () => {
    const translatorId = await registerTranslator();
    const response = await fleet.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: auth(),
      payload: { workflow: agentWorkflow(translatorId) },
    });
    expect(response.statusCode).toBe(202);
    const run = await fleet.waitForRun(response.json().runId);
    expect(run.status, JSON.stringify(run.nodes)).toBe('completed');
    const first = provider.chatRequests[0]?.body as {
      tools: { function: { name: string; parameters: { required: string[] } } }[];
    };
    expect(first.tools[0]?.function.name).toBe('translate');
    expect(first.tools[0]?.function.parameters.required).toEqual(['text', 'language']);
    const subCall = provider.chatRequests.find((r) =>
      JSON.stringify(r.body).includes('Translate \\"hello\\" to French'),
    );
    // The tool ran the translator's own prompt, rendered with the arguments the model chose.
    expect(subCall?.body).toMatchObject({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Translate "hello" to French' }],
    });
    const steps = await fleet.db.handle
      .sql`select tool_name, is_error from agent_trace_history where run_id = ${response.json().runId} order by step`;
    expect(steps.map((s) => [s.tool_name, s.is_error])).toEqual([
      ['translate', false],
      [null, false],
    ]);
  });

  it("refuses at registration a tool that names a missing node, a non-LLM node or another tenant's workflow", async () => {
    const translatorId = await registerTranslator();
    const otherTenantsId = await registerTranslator(await fleet.createKey('tenant-other'));
    for (const [workflowId, nodeId] of [
      [translatorId, 'missing'],
      ['00000000-0000-4000-8000-000000000000', 'translate'],
      [otherTenantsId, 'translate'],
    ] as const) {
      const response = await fleet.app.inject({
        method: 'POST',
        url: '/v1/workflows',
        headers: auth(),
        payload: agentWorkflow(workflowId, nodeId),
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toMatchObject({ code: 'unknown_workflow_reference', nodeId: 'agent' });
    }
  });
});
