import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { FakeOpenAiServer, startTargetServer, type TargetServer } from '@flowtrace/executors/testing';
import { type LocalStack, type ManagedProcess, startLocalStack } from '@flowtrace/local-stack';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatAnswer } from '../support/openai-tool-script.ts';
import { FAST_RECOVERY_ENV, must, orphans, stackClient, waitUntil } from '../support/stack-client.ts';

/**
 * Worker processes killed (-9) or stopped (SIGTERM) with nodes in flight, as real child processes on real
 * Postgres and Redis, with short lock and stall intervals so that recovery takes seconds.
 */
describe('worker crashes and graceful shutdown', () => {
  let db: TestDatabase;
  let provider: FakeOpenAiServer;
  let target: TargetServer;
  let stack: LocalStack;
  let client: ReturnType<typeof stackClient>;
  let redis: Redis;

  /** The worker process holding a node's job (BullMQ records the worker name, `host:pid`). */
  const workerRunning = async (queue: string, jobId: string): Promise<ManagedProcess> => {
    const processedBy = await redis.hget(`${stack.queuePrefix}:${queue}:${jobId}`, 'pb');
    const pid = Number(processedBy?.split(':').at(-1));
    return must(
      stack.workers.find((w) => w.pid === pid),
      `the worker with pid ${pid} (${processedBy})`,
    );
  };

  beforeAll(async () => {
    [db, provider, target] = await Promise.all([
      createTestDatabase(),
      new FakeOpenAiServer().start(),
      startTargetServer(),
    ]);
    stack = await startLocalStack({
      dataDir: `/tmp/flowtrace-faults-${process.pid}`,
      databaseUrl: db.url,
      workers: [{ kinds: ['llm'] }, { kinds: ['llm'] }, { kinds: ['connector'] }, { kinds: ['connector'] }],
      env: {
        ...FAST_RECOVERY_ENV,
        OPENAI_BASE_URL: provider.baseUrl,
        OPENAI_API_KEY: 'sk-faults',
        FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1',
      },
    });
    client = stackClient(stack);
    redis = new Redis(stack.redisUrl);
  }, 120_000);

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
    await Promise.all([db?.drop(), provider?.close(), target?.close()]);
  });

  it('finishes a node on another worker when its worker is killed mid-call, recording only the attempt that finished', async () => {
    // The first model call hangs long enough for the worker to be killed during it; later ones answer.
    let calls = 0;
    provider.setHandler((request) => {
      calls += 1;
      return chatAnswer(request, `answer ${calls}`, calls === 1 ? 60_000 : 0);
    });
    const submitted = await client.api('POST', '/v1/runs', {
      workflow: {
        name: 'kill-9',
        nodes: [
          { id: 'ask', type: 'llm', config: { provider: 'openai', model: 'gpt-4o-mini', prompt: 'Hello' } },
          {
            id: 'then',
            type: 'llm',
            dependsOn: ['ask'],
            config: { provider: 'openai', model: 'gpt-4o-mini', prompt: '{{nodes.ask.output.text}}' },
          },
        ],
      },
    });
    const runId = submitted.body.runId as string;
    await waitUntil(() => calls === 1, 'the first model call');
    const victim = await workerRunning('nodes.llm', `${runId}.ask`);
    victim.signal('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');

    const run = await client.waitForRun(runId, 60_000);
    expect(run.status).toBe('completed');
    const ask = run.nodes.find((n: { nodeId: string }) => n.nodeId === 'ask');
    expect(ask.attempts).toBe(2);
    // The killed attempt's call never finished, so it has no row; the finishing attempt has exactly one.
    const costs = await db.handle
      .sql`select node_id, attempt from model_cost_logs where run_id = ${runId} order by node_id`;
    expect(costs.map((c) => `${c.node_id}:${c.attempt}`)).toEqual(['ask:2', 'then:1']);

    // One trace shows the lost attempt (ended by the worker that took over) and the one that finished.
    const spans = await client.traceOf(run.traceId);
    const attempts = spans
      .filter((s) => s.name === 'process nodes.llm' && s.attributes['flowtrace.node.id'] === 'ask')
      .map((s) => [s.attributes['flowtrace.node.attempt'], s.status.code, s.attributes['error.type'] ?? null])
      .sort();
    expect(attempts).toEqual([
      [1, 'ERROR', 'attempt_lost'],
      [2, 'UNSET', null],
    ]);
    expect(orphans(spans).map((s) => s.name)).toEqual([]);
    stack.workers.splice(stack.workers.indexOf(victim), 1);
  });

  it('lets in-flight nodes finish on SIGTERM, exits 0, and nothing stalls', async () => {
    target.on('GET', '/slow', { delayMs: 2_500, body: { ok: true } });
    const workflow = {
      name: 'sigterm',
      nodes: [{ id: 'call', type: 'connector', config: { url: `${target.url}/slow` } }],
    };
    const runIds: string[] = [];
    for (let i = 0; i < 4; i++) runIds.push((await client.api('POST', '/v1/runs', { workflow })).body.runId);
    await waitUntil(
      () => target.requests.filter((r) => r.path === '/slow').length >= 4,
      'four requests in flight',
    );
    // SIGTERM a worker that holds at least one of them.
    const victim = await workerRunning('nodes.connector', `${runIds[0]}.call`);
    const before = Date.now();
    victim.signal('SIGTERM');
    const exit = await victim.exited;
    expect(exit.code).toBe(0);
    expect(Date.now() - before).toBeGreaterThan(1_000);
    for (const runId of runIds) {
      const run = await client.waitForRun(runId, 30_000);
      expect(run.status).toBe('completed');
      expect(run.nodes[0].attempts).toBe(1);
    }
    // Each call was made once: no node was re-delivered.
    expect(target.requests.filter((r) => r.path === '/slow')).toHaveLength(4);
    expect(victim.tail(200)).toContain('in-flight nodes finished');
    const connectorLogs = stack.workers.filter((w) => w.name.includes('connector')).map((w) => w.tail(500));
    expect(connectorLogs.join('\n')).not.toContain('job stalled');
    stack.workers.splice(stack.workers.indexOf(victim), 1);
  });
});
