import { FakeOpenAiServer, startTargetServer, type TargetServer } from '@flowtrace/executors/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolCallingScript } from '../support/openai-tool-script.ts';
import { type BoundaryFleet, startBoundaryFleet } from './credentials-fleet.ts';

const TOKEN = 'canary-echo-5c2e8a71f3';
const CREDENTIAL = `Bearer ${TOKEN}`;
const PROVIDER_KEY = 'sk-canary-provider-90d4e1b7c2';

/**
 * A target that echoes the request's headers in a 2xx body (as httpbin's /anything does) must not put the
 * credential into `node_runs.output`, `GET /v1/runs/:id`, the prompts of downstream nodes, an agent's
 * tool observation or its stored steps; nor may a model's answer that repeats a configured secret.
 */
describe('stored and returned outputs are redacted', () => {
  let echo: TargetServer;
  let provider: FakeOpenAiServer;
  let boundary: BoundaryFleet;

  beforeAll(async () => {
    [echo, provider] = await Promise.all([
      startTargetServer(),
      new FakeOpenAiServer({ apiKey: PROVIDER_KEY }).start(),
    ]);
    const echoHeaders = (req: { headers: Record<string, unknown> }) => ({
      body: {
        headers: req.headers,
        note: `you sent ${String(req.headers.authorization)}`,
        token: TOKEN,
        encoded: encodeURIComponent(CREDENTIAL),
      },
    });
    echo.on('GET', '/anything', echoHeaders);
    echo.on('GET', '/anything/tool', echoHeaders);
    // Agents call the tool, then answer; plain prompts get an answer that repeats the credential.
    provider.setHandler((request) => {
      const body = request.body as { tools?: unknown[] };
      if (body.tools !== undefined) return toolCallingScript(() => ({ id: 'tool' }))(request);
      return {
        status: 200,
        body: {
          id: 'chatcmpl-leak',
          object: 'chat.completion',
          model: 'gpt-4o-mini',
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: `The key is ${PROVIDER_KEY} and ${TOKEN}` },
              finish_reason: 'stop',
            },
          ],
          usage: { prompt_tokens: 10, completion_tokens: 10 },
        },
      };
    });
    boundary = await startBoundaryFleet(() => ({
      OPENAI_BASE_URL: provider.baseUrl,
      OPENAI_API_KEY: PROVIDER_KEY,
      FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1',
      FLOWTRACE_CREDENTIALS: JSON.stringify({
        echo: { headers: { authorization: CREDENTIAL }, hosts: ['127.0.0.1'] },
      }),
    }));
  });
  afterAll(async () => {
    await boundary?.close();
    await Promise.all([echo?.close(), provider?.close()]);
  });

  it('keeps the credential and provider key out of outputs, rows, API responses and downstream prompts', async () => {
    const submitted = await boundary.api(boundary.a.key, 'POST', '/v1/runs', {
      workflow: {
        name: 'echo',
        nodes: [
          { id: 'lookup', type: 'connector', config: { url: `${echo.url}/anything`, credential: 'echo' } },
          {
            id: 'summarize',
            type: 'llm',
            dependsOn: ['lookup'],
            config: {
              provider: 'openai',
              model: 'gpt-4o-mini',
              prompt: 'Summarize {{nodes.lookup.output.body}}',
            },
          },
          {
            id: 'agent',
            type: 'agent',
            dependsOn: ['lookup'],
            config: {
              name: 'helper',
              provider: 'openai',
              model: 'gpt-4o-mini',
              prompt: 'Check {{nodes.lookup.output}}',
              tools: [
                {
                  type: 'http',
                  name: 'echo',
                  description: 'Echo',
                  url: `${echo.url}/anything/{{args.id}}`,
                  credential: 'echo',
                  parameters: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
                },
              ],
            },
          },
        ],
      },
      input: {},
    });
    expect(submitted.status, submitted.text).toBe(202);
    const runId = String(submitted.body.runId);
    const run = await boundary.fleet.waitForRun(runId);
    expect(run.status, JSON.stringify(run.nodes)).toBe('completed');

    // The credential did go to the target, twice (the connector and the tool), and came back in the body.
    expect(echo.requests.map((r) => r.headers.authorization)).toEqual([CREDENTIAL, CREDENTIAL]);

    const api = await boundary.api(boundary.a.key, 'GET', `/v1/runs/${runId}`);
    const events = await boundary.api(boundary.a.key, 'GET', `/v1/runs/${runId}/events`);
    const prompts = JSON.stringify(provider.chatRequests.map((r) => r.body));
    const texts: [string, string][] = [
      ['GET /v1/runs/:id', api.text],
      ['GET /v1/runs/:id/events', events.text],
      ['rows', await boundary.rowsOf(runId)],
      ['downstream prompts and tool observations', prompts],
    ];
    for (const [where, text] of texts) {
      expect(text.length, where).toBeGreaterThan(100);
      for (const secret of [TOKEN, PROVIDER_KEY, encodeURIComponent(CREDENTIAL)]) {
        expect(text.includes(secret), `${secret} in ${where}`).toBe(false);
      }
    }
    const nodes = Object.fromEntries(
      (api.body.nodes as { nodeId?: string; id?: string; output: unknown }[]).map((n) => [
        n.nodeId ?? n.id,
        n,
      ]),
    );
    expect(nodes.lookup?.output).toMatchObject({
      status: 200,
      body: { headers: { authorization: '[REDACTED]' }, note: 'you sent [REDACTED]', token: '[REDACTED]' },
    });
    expect(nodes.summarize?.output).toMatchObject({ text: 'The key is [REDACTED] and [REDACTED]' });
    // The tool observation the model read came back redacted too.
    expect(prompts).toContain('[REDACTED]');
  });
});
