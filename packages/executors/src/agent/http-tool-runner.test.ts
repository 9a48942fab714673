import { type HttpTool, NODE_CONFIG_SCHEMAS, PermanentNodeError } from '@flowtrace/workflow';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CredentialStore } from '../connector/credentials.ts';
import { GuardedHttpClient } from '../connector/guarded-http-client.ts';
import { silentLogger } from '../testing/silent-logger.ts';
import { startTargetServer, type TargetServer } from '../testing/target-server.ts';
import { createHttpToolRunner } from './http-tool-runner.ts';
import type { AgentToolContext } from './tool-runner.ts';

const TOKEN = 'crm-token-5f0c9a1e77';

let target: TargetServer;
let client: GuardedHttpClient;
const credentials = new CredentialStore({ crm: { headers: { 'x-api-key': TOKEN }, hosts: ['127.0.0.1'] } });

beforeAll(async () => {
  target = await startTargetServer();
  client = new GuardedHttpClient({ allowedHosts: ['127.0.0.1'] });
});
afterEach(() => target.reset());
afterAll(async () => {
  await Promise.all([target.close(), client.close()]);
});

const ctx: AgentToolContext = {
  runId: 'run-1',
  tenantId: 'tenant-1',
  nodeId: 'agent',
  scope: { input: { account: 'acme' }, nodes: { prev: { output: { region: 'eu' } } }, run: { id: 'run-1' } },
  signal: new AbortController().signal,
  logger: silentLogger,
  ledger: { recordModelCall: () => undefined },
};

function tool(overrides: Partial<HttpTool> & { url: string }): HttpTool {
  return NODE_CONFIG_SCHEMAS.agent.parse({
    name: 'a',
    provider: 'simulated',
    model: 'm',
    prompt: 'p',
    tools: [{ type: 'http', name: 'crm', description: 'CRM lookup', ...overrides }],
  }).tools[0] as HttpTool;
}

describe('http tool runner', () => {
  it('percent-encodes arguments in the URL so that a model cannot change its path or query', async () => {
    target.on('GET', '/customers/..%2Fadmin%3Fall%3D1%23x', { body: { ok: true } });
    const runner = createHttpToolRunner({ http: client, credentials });
    const result = await runner.run(
      tool({ url: `${target.url}/customers/{{ args.id }}?region={{ nodes.prev.output.region }}` }),
      { id: '../admin?all=1#x' },
      ctx,
    );
    expect(result).toEqual({ status: 200, body: { ok: true } });
    expect(target.requests[0]?.url).toBe('/customers/..%2Fadmin%3Fall%3D1%23x?region=eu');
  });

  it('sends raw argument values in headers and a JSON body, with the credential, and keeps it out of the result', async () => {
    target.on('POST', '/notes', (req) => ({
      status: 201,
      body: { received: JSON.parse(req.text), key: String(req.headers['x-api-key']) },
    }));
    const runner = createHttpToolRunner({ http: client, credentials });
    const result = await runner.run(
      tool({
        method: 'POST',
        url: `${target.url}/notes`,
        credential: 'crm',
        headers: { 'x-account': '{{ input.account }}' },
        body: { text: '{{ args.text }}', tags: '{{ args.tags }}', run: '{{ run.id }}' },
      }),
      { text: 'a/b?c', tags: ['x', 'y'] },
      ctx,
    );
    expect(target.requests[0]?.headers['x-account']).toBe('acme');
    expect(target.requests[0]?.headers['x-api-key']).toBe(TOKEN);
    expect(result).toEqual({
      status: 201,
      body: { received: { text: 'a/b?c', tags: ['x', 'y'], run: 'run-1' }, key: '[REDACTED]' },
    });
  });

  it('throws a connector error naming the status for an error response', async () => {
    target.on('GET', '/missing', { status: 404, body: { error: `no such thing (key ${TOKEN})` } });
    const runner = createHttpToolRunner({ http: client, credentials });
    const error = await runner.run(tool({ url: `${target.url}/missing` }), {}, ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect(error).toMatchObject({ code: 'connector_error', details: { status: 404 } });
    expect((error as Error).message).toMatch(/returned HTTP 404: .*no such thing \(key \[REDACTED\]\)/);
  });

  it('throws template_variable_missing when the model left out an argument the URL needs', async () => {
    const runner = createHttpToolRunner({ http: client, credentials });
    const error = await runner
      .run(tool({ url: `${target.url}/customers/{{ args.id }}` }), {}, ctx)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'template_variable_missing' });
    expect(target.requests).toHaveLength(0);
  });
});
