import { startTargetServer, type TargetServer } from '@flowtrace/executors/testing';
import { type LocalStack, startLocalStack } from '@flowtrace/local-stack';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivatePostgres, startPrivatePostgres } from '../support/private-servers.ts';
import { FAST_RECOVERY_ENV, stackClient, waitUntil } from '../support/stack-client.ts';

/**
 * Postgres restarts mid-run (every connection dropped). The API and the workers reconnect by themselves,
 * the runs complete, and every row is there. The stack uses a Postgres cluster of its own.
 */
describe('Postgres restart mid-run', () => {
  let pg: PrivatePostgres;
  let target: TargetServer;
  let stack: LocalStack;
  let client: ReturnType<typeof stackClient>;

  beforeAll(async () => {
    [pg, target] = await Promise.all([startPrivatePostgres(), startTargetServer()]);
    target.on('GET', '/step', { delayMs: 20, body: { ok: true } });
    stack = await startLocalStack({
      dataDir: `/tmp/flowtrace-pg-restart-${process.pid}`,
      databaseUrl: pg.url.replace(/\/postgres$/, '/flowtrace'),
      workers: [{ kinds: ['connector'] }, { kinds: ['llm'] }],
      env: { ...FAST_RECOVERY_ENV, FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1' },
    });
    client = stackClient(stack);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([pg?.close(), target?.close()]);
  });

  it('reconnects and completes every run without losing a row', async () => {
    const workflow = {
      name: 'pg-restart',
      nodes: [
        {
          id: 'fetch',
          type: 'connector',
          config: { url: `${target.url}/step`, query: { run: '{{run.id}}', node: 'fetch' } },
        },
        {
          id: 'think',
          type: 'llm',
          dependsOn: ['fetch'],
          config: { provider: 'simulated', model: 'sim-small', prompt: 'go' },
        },
        {
          id: 'store',
          type: 'connector',
          dependsOn: ['think'],
          config: { url: `${target.url}/step`, query: { run: '{{run.id}}', node: 'store' } },
        },
      ],
    };
    // Enough runs that claims, outcomes and transactions are in flight in every process when it restarts.
    const runIds: string[] = [];
    for (let i = 0; i < 40; i++) runIds.push((await client.api('POST', '/v1/runs', { workflow })).body.runId);
    await waitUntil(() => target.requests.length >= 10, 'runs under way');
    await pg.restart();

    for (const runId of runIds) {
      const run = await client.waitForRun(runId, 60_000);
      expect(run.status).toBe('completed');
    }
    // Every process rode it out: none exited on a lost connection.
    expect([stack.api, ...stack.workers].filter((p) => !p.running).map((p) => p.name)).toEqual([]);
    const sql = postgres(pg.url.replace(/\/postgres$/, '/flowtrace'), { max: 1 });
    try {
      const events = await sql`
        select run_id, type, node_id from event_logs where run_id = any(${runIds}) order by id`;
      for (const runId of runIds) {
        const ofRun = events.filter((e) => e.run_id === runId);
        expect(
          ofRun
            .filter((e) => e.type === 'node.completed')
            .map((e) => e.node_id)
            .sort(),
        ).toEqual(['fetch', 'store', 'think']);
        expect(ofRun.filter((e) => e.type === 'run.completed')).toHaveLength(1);
      }
      const [costs] =
        await sql`select count(*)::int as n from model_cost_logs where run_id = any(${runIds}) and node_id = 'think'`;
      expect(costs?.n).toBe(runIds.length);
    } finally {
      await sql.end();
    }
  });
});
