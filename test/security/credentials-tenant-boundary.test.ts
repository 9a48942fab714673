import { startTargetServer, type TargetServer } from '@flowtrace/executors/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BoundaryFleet, startBoundaryFleet } from './credentials-fleet.ts';

/** The credential's value and name: a canary that must reach the CRM and nothing else. */
const CANARY = 'Bearer canary-crm-7e41d90b2c';
const LEDGER_KEY = 'canary-ledger-3b8f02a9e5';

/**
 * Credentials across the tenant boundary, through the API and the workers: a credential goes only to the
 * hosts it names, only for the tenants it names, on every redirect hop; URL templates cannot move a
 * request to another host or port; errors name no other credential.
 */
describe('credentials bound to hosts and tenants', () => {
  let crm: TargetServer;
  /** A server tenant b controls, on another loopback address the SSRF allow-list admits. */
  let tenantBServer: TargetServer;
  let boundary: BoundaryFleet;

  beforeAll(async () => {
    [crm, tenantBServer] = await Promise.all([startTargetServer(), startTargetServer({ host: '127.0.0.2' })]);
    boundary = await startBoundaryFleet(({ a }) => ({
      FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1,127.0.0.2',
      FLOWTRACE_CREDENTIALS: JSON.stringify({
        crm: { headers: { authorization: CANARY }, hosts: ['127.0.0.1'] },
        'acme-ledger': { headers: { 'x-api-key': LEDGER_KEY }, hosts: ['127.0.0.1'], tenants: [a] },
      }),
    }));
  });
  afterEach(() => {
    crm.reset();
    tenantBServer.reset();
  });
  afterAll(async () => {
    await boundary?.close();
    await Promise.all([crm?.close(), tenantBServer?.close()]);
  });

  /** Runs a one-connector workflow as `key` (one attempt) and returns the finished run. */
  async function runConnector(
    key: string,
    config: Record<string, unknown>,
    input: Record<string, unknown> = {},
  ) {
    const submitted = await boundary.api(key, 'POST', '/v1/runs', {
      workflow: {
        name: 'lookup',
        nodes: [{ id: 'call', type: 'connector', retry: { attempts: 1 }, config }],
      },
      input,
    });
    expect(submitted.status, submitted.text).toBe(202);
    const runId = String(submitted.body.runId);
    const run = await boundary.fleet.waitForRun(runId, key);
    const api = await boundary.api(key, 'GET', `/v1/runs/${runId}`);
    return { runId, run, apiText: api.text, node: (run.nodes as Record<string, unknown>[])[0] ?? {} };
  }

  const received = () => JSON.stringify([...crm.requests, ...tenantBServer.requests].map((r) => r.headers));

  it("does not send tenant a's CRM credential to a server tenant b points its connector at", async () => {
    const { run, node, apiText, runId } = await runConnector(boundary.b.key, {
      url: `${tenantBServer.url}/collect`,
      credential: 'crm',
    });
    expect(run.status).toBe('failed');
    expect(node.error).toMatchObject({ code: 'credential_not_allowed' });
    expect((node.error as { message: string }).message).toMatch(
      /credential "crm" may not be sent to http:\/\/127\.0\.0\.2:\d+/,
    );
    expect(tenantBServer.requests).toHaveLength(0);
    for (const [where, text] of [
      ['received headers', received()],
      ['API response', apiText],
      ['rows', await boundary.rowsOf(runId)],
    ] as const) {
      expect(text.includes('canary-crm'), where).toBe(false);
    }
  });

  it('sends it to the host it names', async () => {
    crm.on('GET', '/customers/42', { body: { name: 'Ada' } });
    const { run } = await runConnector(boundary.b.key, { url: `${crm.url}/customers/42`, credential: 'crm' });
    expect(run.status).toBe('completed');
    expect(crm.requests[0]?.headers.authorization).toBe(CANARY);
  });

  it('refuses a redirect hop to another host before it connects', async () => {
    crm.redirect('/export', `${tenantBServer.url}/collect`, 307);
    const { run, node } = await runConnector(boundary.b.key, { url: `${crm.url}/export`, credential: 'crm' });
    expect(run.status).toBe('failed');
    expect(node.error).toMatchObject({ code: 'credential_not_allowed' });
    expect(crm.requests).toHaveLength(1);
    expect(tenantBServer.requests).toHaveLength(0);
  });

  it('keeps a tenant-bound credential for its tenant, and answers others as for an unknown name', async () => {
    crm.on('GET', '/ledger', { body: { balance: 1 } });
    const own = await runConnector(boundary.a.key, { url: `${crm.url}/ledger`, credential: 'acme-ledger' });
    expect(own.run.status).toBe('completed');
    expect(crm.requests[0]?.headers['x-api-key']).toBe(LEDGER_KEY);

    const other = await runConnector(boundary.b.key, { url: `${crm.url}/ledger`, credential: 'acme-ledger' });
    const unknown = await runConnector(boundary.b.key, { url: `${crm.url}/ledger`, credential: 'erp' });
    for (const { run, node } of [other, unknown]) {
      expect(run.status).toBe('failed');
      expect(node.error).toMatchObject({ code: 'credential_not_allowed' });
    }
    const message = (r: typeof other) => String((r.node.error as { message: string }).message);
    expect(message(other).replace('"acme-ledger"', '"X"')).toBe(message(unknown).replace('"erp"', '"X"'));
    // The unknown-credential error lists no configured names.
    expect(message(unknown)).not.toMatch(/crm|acme-ledger/);
    expect(crm.requests).toHaveLength(1);
  });

  it('refuses at registration a URL template whose host or port an input could change', async () => {
    const before = await boundary.fleet.db.handle.sql`select count(*)::int as n from workflows`;
    for (const url of [
      'http://127.0.0.1{{input.p}}',
      'http://127.0.0.1:{{input.port}}/x',
      '{{input.url}}',
      'http://{{input.host}}/x',
    ]) {
      const workflow = {
        name: 'moved',
        nodes: [{ id: 'call', type: 'connector', config: { url, credential: 'crm' } }],
      };
      for (const [path, payload] of [
        ['/v1/workflows', workflow],
        ['/v1/runs', { workflow, input: { p: `:${tenantBServer.port}/x` } }],
      ] as const) {
        const response = await boundary.api(boundary.b.key, 'POST', path, payload);
        expect(response.status, `${path} ${url}`).toBe(400);
        expect(response.body, url).toMatchObject({
          error: { code: 'invalid_definition', message: expect.stringMatching(/config\.url/) },
        });
      }
    }
    const after = await boundary.fleet.db.handle.sql`select count(*)::int as n from workflows`;
    expect(after).toEqual(before);
    expect(tenantBServer.requests).toHaveLength(0);
  });

  it('keeps a value placed after the host inside the path, percent-encoded', async () => {
    crm.on('GET', `/%3A${tenantBServer.port}%2Fcollect`, { body: { ok: true } });
    const { run } = await runConnector(
      boundary.b.key,
      { url: `${crm.url}/{{input.p}}`, credential: 'crm' },
      { p: `:${tenantBServer.port}/collect` },
    );
    expect(run.status).toBe('completed');
    expect(crm.requests).toHaveLength(1);
    expect(tenantBServer.requests).toHaveLength(0);
  });
});
