import {
  type ConnectorNodeConfig,
  NODE_CONFIG_SCHEMAS,
  type NodeExecutionContext,
} from '@flowtrace/workflow';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttpToolRunner } from '../agent/http-tool-runner.ts';
import { silentLogger } from '../testing/silent-logger.ts';
import { startTargetServer, type TargetServer } from '../testing/target-server.ts';
import { createConnectorExecutor } from './connector-executor.ts';
import { CredentialStore } from './credentials.ts';
import { GuardedHttpClient } from './guarded-http-client.ts';

const CANARY = 'Bearer canary-crm-4d1f9b7e2a';
const TENANT_A = '0b0e2f6c-58a4-4d7e-9a43-0f3f1d1a7a01';
const TENANT_B = '5f1c3d2e-7b6a-4c1d-8e9f-a0b1c2d3e4f5';

/** The credential's own server (127.0.0.1, twice on two ports), and another tenant's (127.0.0.2). */
let crm: TargetServer;
let crmOtherPort: TargetServer;
let elsewhere: TargetServer;
let http: GuardedHttpClient;
let credentials: CredentialStore;

beforeAll(async () => {
  [crm, crmOtherPort, elsewhere] = await Promise.all([
    startTargetServer(),
    startTargetServer(),
    startTargetServer({ host: '127.0.0.2' }),
  ]);
  // The SSRF allow-list admits both addresses: what keeps the credential home is its `hosts`.
  http = new GuardedHttpClient({ allowedHosts: ['127.0.0.1', '127.0.0.2'] });
  credentials = new CredentialStore({
    crm: { headers: { authorization: CANARY }, hosts: ['127.0.0.1'] },
    ledger: { headers: { 'x-api-key': 'ledger-key-83a1c' }, hosts: ['127.0.0.1'], tenants: [TENANT_A] },
  });
});
afterEach(() => {
  for (const server of [crm, crmOtherPort, elsewhere]) server.reset();
});
afterAll(async () => {
  await Promise.all([crm.close(), crmOtherPort.close(), elsewhere.close(), http.close()]);
});

function ctxFor(
  config: Partial<ConnectorNodeConfig> & { url: string },
  options: { tenantId?: string; input?: Record<string, unknown> } = {},
): NodeExecutionContext<'connector'> {
  return {
    runId: 'run-1',
    tenantId: options.tenantId ?? TENANT_B,
    workflowId: 'wf-1',
    workflowName: 'wf',
    nodeId: 'call',
    nodeType: 'connector',
    attempt: 1,
    config: NODE_CONFIG_SCHEMAS.connector.parse(config),
    input: (options.input ?? {}) as NodeExecutionContext['input'],
    upstream: {},
    signal: new AbortController().signal,
    logger: silentLogger,
    ledger: { recordModelCall: () => undefined, recordAgentStep: () => undefined },
  };
}

const execute = (ctx: NodeExecutionContext<'connector'>) =>
  createConnectorExecutor({ http, credentials })
    .execute(ctx)
    .then(
      (output) => ({ output, error: undefined }),
      (error: unknown) => ({ output: undefined, error: error as Error }),
    );

/** Every header any server received, as text: the canary must not be in it. */
const everythingReceived = () =>
  JSON.stringify([crm, crmOtherPort, elsewhere].flatMap((s) => s.requests.map((r) => r.headers)));

describe('credentials bound to hosts', () => {
  it('attaches the credential to a request for one of its hosts', async () => {
    crm.on('GET', '/me', { body: { ok: true } });
    const { error } = await execute(ctxFor({ url: `${crm.url}/me`, credential: 'crm' }));
    expect(error).toBeUndefined();
    expect(crm.requests[0]?.headers.authorization).toBe(CANARY);
  });

  it("refuses another tenant's server before connecting, naming the host, not the credential's", async () => {
    const { error } = await execute(ctxFor({ url: `${elsewhere.url}/steal`, credential: 'crm' }));
    expect(error).toMatchObject({
      code: 'credential_not_allowed',
      nodeId: 'call',
      details: { credential: 'crm', host: '127.0.0.2' },
    });
    expect(error?.message).toMatch(/credential "crm" may not be sent to http:\/\/127\.0\.0\.2:\d+/);
    expect(elsewhere.requests).toHaveLength(0);
    expect(everythingReceived()).not.toContain('canary-crm');
  });

  it('cannot be moved to another port or host by an input placed after the host', async () => {
    const port = `:${elsewhere.port}/x`;
    for (const url of [`http://127.0.0.1{{input.p}}`, `http://127.0.0.1:{{input.port}}/x`, '{{input.url}}']) {
      const { error } = await execute(
        ctxFor(
          { url, credential: 'crm' },
          { input: { p: port, port: String(crmOtherPort.port), url: `${elsewhere.url}/x` } },
        ),
      );
      expect(error, url).toMatchObject({ code: 'invalid_definition' });
    }
    // A value after the path's first "/" stays in the path, percent-encoded.
    crm.on('GET', `/%3A${elsewhere.port}%2Fx`, { body: { ok: true } });
    const { error } = await execute(
      ctxFor({ url: `${crm.url}/{{input.p}}`, credential: 'crm' }, { input: { p: port } }),
    );
    expect(error).toBeUndefined();
    expect(crm.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
    expect(crmOtherPort.requests).toHaveLength(0);
  });

  it('fails on a redirect hop outside its hosts, before that hop connects', async () => {
    crm.redirect('/bounce', `${elsewhere.url}/landing`, 307);
    elsewhere.on('GET', '/landing', { body: { stolen: true } });
    const { error } = await execute(ctxFor({ url: `${crm.url}/bounce`, credential: 'crm' }));
    expect(error).toMatchObject({ code: 'credential_not_allowed', details: { host: '127.0.0.2' } });
    expect(crm.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('follows a redirect to another origin among its hosts with the credential', async () => {
    crm.redirect('/moved', `${crmOtherPort.url}/here`, 302);
    crmOtherPort.on('GET', '/here', { body: { ok: true } });
    const { error } = await execute(ctxFor({ url: `${crm.url}/moved`, credential: 'crm' }));
    expect(error).toBeUndefined();
    expect(crmOtherPort.requests[0]?.headers.authorization).toBe(CANARY);
  });

  it('is available only to the tenants it names; others get the unknown-credential answer', async () => {
    crm.on('GET', '/ledger', { body: { ok: true } });
    const allowed = await execute(
      ctxFor({ url: `${crm.url}/ledger`, credential: 'ledger' }, { tenantId: TENANT_A }),
    );
    expect(allowed.error).toBeUndefined();
    expect(crm.requests[0]?.headers['x-api-key']).toBe('ledger-key-83a1c');

    const denied = await execute(ctxFor({ url: `${crm.url}/ledger`, credential: 'ledger' }));
    const unknown = await execute(ctxFor({ url: `${crm.url}/ledger`, credential: 'nothing' }));
    expect(denied.error).toMatchObject({ code: 'credential_not_allowed' });
    expect(unknown.error).toMatchObject({ code: 'credential_not_allowed' });
    expect(denied.error?.message.replace('"ledger"', '"X"')).toBe(
      unknown.error?.message.replace('"nothing"', '"X"'),
    );
    expect(crm.requests).toHaveLength(1);
  });

  it("binds an agent http tool's credential the same way", async () => {
    const runner = createHttpToolRunner({ http, credentials });
    const tool = NODE_CONFIG_SCHEMAS.agent.parse({
      name: 'a',
      provider: 'simulated',
      model: 'm',
      prompt: 'p',
      tools: [
        {
          type: 'http',
          name: 'crm',
          description: 'd',
          url: `${elsewhere.url}/{{args.id}}`,
          credential: 'crm',
        },
      ],
    }).tools[0];
    if (tool?.type !== 'http') throw new Error('expected an http tool');
    const error = await runner
      .run(
        tool,
        { id: '1' },
        {
          runId: 'run-1',
          tenantId: TENANT_B,
          nodeId: 'agent',
          scope: {},
          signal: new AbortController().signal,
          logger: silentLogger,
          ledger: { recordModelCall: () => undefined },
        },
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'credential_not_allowed' });
    expect(elsewhere.requests).toHaveLength(0);
  });
});
