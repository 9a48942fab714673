import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { FakeOpenAiServer, startTargetServer, type TargetServer } from '@flowtrace/executors/testing';
import { type LocalStack, startLocalStack } from '@flowtrace/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolCallingScript } from '../support/openai-tool-script.ts';
import { must, stackClient, waitUntil } from '../support/stack-client.ts';

const PROVIDER_KEY = 'sk-canary-provider-7f3a9c1e2d4b';
const CREDENTIAL = 'Bearer canary-credential-5e8d2a7c';
const PROMPT_SECRET = 'ACCT-99887766';

/**
 * Secrets across real processes, with prompt capture opted in: the provider key and a connector credential
 * (both from configuration) and an account number matched by a redaction pattern reach the services that
 * need them, but never a span, a log line (stdout or OTLP) or a row; captured prompt text is on the spans,
 * redacted.
 */
describe('secrets never leave in telemetry or rows', () => {
  let db: TestDatabase;
  let provider: FakeOpenAiServer;
  let target: TargetServer;
  let stack: LocalStack;
  let client: ReturnType<typeof stackClient>;
  const dataDir = `/tmp/flowtrace-secrets-${process.pid}`;

  beforeAll(async () => {
    [db, provider, target] = await Promise.all([
      createTestDatabase(),
      new FakeOpenAiServer({ apiKey: PROVIDER_KEY }).start(),
      startTargetServer(),
    ]);
    provider.setHandler(toolCallingScript(() => ({ account: 'primary' })));
    target.on('GET', '/crm/primary', { body: { plan: 'business' } });
    stack = await startLocalStack({
      dataDir,
      databaseUrl: db.url,
      workers: [{ kinds: ['llm'] }, { kinds: ['agent'] }, { kinds: ['connector'] }],
      env: {
        LOG_LEVEL: 'debug',
        OPENAI_BASE_URL: provider.baseUrl,
        OPENAI_API_KEY: PROVIDER_KEY,
        FLOWTRACE_CREDENTIALS: JSON.stringify({
          crm: { headers: { authorization: CREDENTIAL }, hosts: ['127.0.0.1'] },
        }),
        FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1',
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
        FLOWTRACE_REDACT_PATTERNS: 'ACCT-\\d+',
      },
    });
    client = stackClient(stack);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([db?.drop(), provider?.close(), target?.close()]);
  });

  it('keeps the provider key, credentials and redacted text out of spans, logs and rows', async () => {
    const submitted = await client.api('POST', '/v1/runs', {
      workflow: {
        name: 'secrets',
        nodes: [
          {
            id: 'summarize',
            type: 'llm',
            config: {
              provider: 'openai',
              model: 'gpt-4o-mini',
              prompt: `Customer ${PROMPT_SECRET} asks about {{input.topic}}`,
            },
          },
          {
            id: 'lookup',
            type: 'connector',
            dependsOn: ['summarize'],
            config: { url: `${target.url}/crm/primary`, credential: 'crm' },
          },
          {
            id: 'agent',
            type: 'agent',
            dependsOn: ['lookup'],
            config: {
              name: 'helper',
              provider: 'openai',
              model: 'gpt-4o-mini',
              prompt: `Help ${PROMPT_SECRET}`,
              tools: [
                {
                  type: 'http',
                  name: 'crm',
                  description: 'CRM lookup',
                  url: `${target.url}/crm/{{args.account}}`,
                  credential: 'crm',
                  parameters: {
                    type: 'object',
                    properties: { account: { type: 'string' } },
                    required: ['account'],
                  },
                },
              ],
            },
          },
        ],
      },
      input: { topic: 'billing' },
    });
    const run = await client.waitForRun(submitted.body.runId);
    expect(run.status, JSON.stringify(run.nodes)).toBe('completed');
    // The secrets did reach the services that need them.
    // (Every model call carried it: the set of keys sent is exactly the configured one.)
    expect(new Set(provider.chatRequests.map((r) => r.headers.authorization))).toEqual(
      new Set([`Bearer ${PROVIDER_KEY}`]),
    );
    expect(target.requests.filter((r) => r.headers.authorization === CREDENTIAL)).toHaveLength(2);

    const spans = await client.traceOf(run.traceId);
    const receiver = must(stack.receiver, 'the local OTLP receiver');
    const readStdoutLogs = async () => {
      let text = '';
      for (const file of await readdir(path.join(dataDir, 'logs')))
        text += await readFile(path.join(dataDir, 'logs', file), 'utf8');
      return text;
    };
    // Each worker logs "node completed" after everything else it logs for a node, and each process writes
    // and exports its log records in order: once all three nodes' lines are in, so is the rest of the run's.
    const nodes = ['summarize', 'lookup', 'agent'];
    await waitUntil(async () => {
      const overOtlp = receiver
        .logs()
        .filter((l) => l.traceId === run.traceId && l.body === 'node completed')
        .map((l) => l.attributes.nodeId);
      const onStdout = (await readStdoutLogs())
        .split('\n')
        .filter((line) => line.includes('"msg":"node completed"') && line.includes(run.id))
        .map((line) => (JSON.parse(line) as { nodeId: string }).nodeId);
      return nodes.every((node) => overOtlp.includes(node) && onStdout.includes(node));
    }, "each node's last log record, over OTLP and on stdout");
    const spanText = JSON.stringify(spans, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    const otlpLogs = JSON.stringify(receiver.logs(), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    const stdoutLogs = await readStdoutLogs();
    const sql = db.handle.sql;
    const rows = JSON.stringify([
      ...(await sql`select row_to_json(e) as r from event_logs e where run_id = ${run.id}`),
      ...(await sql`select row_to_json(m) as r from model_cost_logs m where run_id = ${run.id}`),
      ...(await sql`select row_to_json(a) as r from agent_trace_history a where run_id = ${run.id}`),
      ...(await sql`select row_to_json(n) as r from node_runs n where run_id = ${run.id}`),
      ...(await sql`select to_jsonb(r) - 'input' as r from runs r where id = ${run.id}`),
    ]);
    for (const [where, text] of [
      ['spans', spanText],
      ['OTLP logs', otlpLogs],
      ['process logs', stdoutLogs],
      ['rows', rows],
    ] as const) {
      expect(text.length, where).toBeGreaterThan(100);
      for (const secret of [PROVIDER_KEY, 'canary-credential-5e8d2a7c', PROMPT_SECRET]) {
        expect(text.includes(secret), `${secret} in ${where}`).toBe(false);
      }
    }
    // Capture is on: the prompt is on the chat span, with the account number redacted.
    const chat = spans.find(
      (s) =>
        s.name === 'chat gpt-4o-mini' &&
        String(s.attributes['gen_ai.input.messages'] ?? '').includes('billing'),
    );
    expect(String(chat?.attributes['gen_ai.input.messages'])).toContain('[REDACTED]');
  });
});
