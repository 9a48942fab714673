import { FakeAnthropicServer, FakeOpenAiServer } from '@flowtrace/executors/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BoundaryFleet, startBoundaryFleet } from './credentials-fleet.ts';

/**
 * A provider (or a gateway in front of it) that answers 200 with another shape fails the node with
 * `provider_error` naming the field, through the workers and the run API, never a `TypeError`.
 */
describe('malformed provider replies', () => {
  let openai: FakeOpenAiServer;
  let anthropic: FakeAnthropicServer;
  let boundary: BoundaryFleet;

  beforeAll(async () => {
    [openai, anthropic] = await Promise.all([
      new FakeOpenAiServer().start(),
      new FakeAnthropicServer({ apiKey: 'sk-ant-test-4f1e2d3c' }).start(),
    ]);
    // 200 without `choices` / with content blocks missing their text.
    openai.setHandler(() => ({ status: 200, body: { id: 'x', object: 'chat.completion', model: 'm' } }));
    anthropic.setHandler(() => ({
      status: 200,
      body: {
        id: 'msg',
        type: 'message',
        model: 'c',
        content: [{ type: 'text' }],
        usage: { input_tokens: 1, output_tokens: 1 },
      },
    }));
    boundary = await startBoundaryFleet(() => ({
      FLOWTRACE_PROVIDERS: JSON.stringify({
        openai: { kind: 'openai', baseUrl: openai.baseUrl, apiKey: 'sk-test-1a2b3c4d' },
        claude: { kind: 'anthropic', baseUrl: anthropic.url, apiKey: 'sk-ant-test-4f1e2d3c' },
      }),
    }));
  });
  afterAll(async () => {
    await boundary?.close();
    await Promise.all([openai?.close(), anthropic?.close()]);
  });

  it.each([
    ['openai', /provider "openai" returned a malformed chat completion: choices: /],
    ['claude', /provider "claude" returned a malformed message: content\[0\]/],
  ])('%s: a malformed 200 fails the node with provider_error naming the field', async (provider, message) => {
    const submitted = await boundary.api(boundary.a.key, 'POST', '/v1/runs', {
      workflow: {
        name: 'ask',
        nodes: [
          { id: 'ask', type: 'llm', retry: { attempts: 1 }, config: { provider, model: 'm', prompt: 'hi' } },
        ],
      },
      input: {},
    });
    expect(submitted.status, submitted.text).toBe(202);
    const runId = String(submitted.body.runId);
    const run = await boundary.fleet.waitForRun(runId);
    expect(run.status).toBe('failed');
    const node = (run.nodes as { error: { code: string; message: string } }[])[0];
    expect(node?.error.code).toBe('provider_error');
    expect(node?.error.message).toMatch(message);
    expect(JSON.stringify(run)).not.toMatch(/Cannot read properties|TypeError/);
  });
});
