import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { startTargetServer, type TargetServer } from '@flowtrace/executors/testing';
import { type LocalStack, startLocalStack } from '@flowtrace/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateRedis, startPrivateRedis } from '../support/private-servers.ts';
import { FAST_RECOVERY_ENV, stackClient, waitUntil } from '../support/stack-client.ts';

/**
 * Redis loses its data mid-run: FLUSHALL, and separately a redis-server restart (no persistence). Postgres
 * is the system of record, so every run still completes, and no node runs twice. The stack uses a Redis
 * server of its own so that flushing it touches no other test.
 */
describe('Redis data loss mid-run', () => {
  let db: TestDatabase;
  let redis: PrivateRedis;
  let target: TargetServer;
  let stack: LocalStack;
  let client: ReturnType<typeof stackClient>;

  beforeAll(async () => {
    [db, redis, target] = await Promise.all([createTestDatabase(), startPrivateRedis(), startTargetServer()]);
    target.on('GET', '/step', { delayMs: 400, body: { ok: true } });
    stack = await startLocalStack({
      dataDir: `/tmp/flowtrace-redis-loss-${process.pid}`,
      databaseUrl: db.url,
      redisUrl: redis.url,
      workers: [{ kinds: ['connector'] }, { kinds: ['connector'] }],
      // Few slots, so that jobs are waiting in Redis (not only running) when it loses them.
      env: { ...FAST_RECOVERY_ENV, WORKER_CONCURRENCY: '2', FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1' },
    });
    client = stackClient(stack);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([db?.drop(), redis?.close(), target?.close()]);
  });

  /** A four-node chain; each node calls the target with its run and node in the query. */
  const submitRuns = async (label: string, count: number): Promise<string[]> => {
    const step = (id: string, after?: string) => ({
      id,
      type: 'connector',
      ...(after ? { dependsOn: [after] } : {}),
      config: { url: `${target.url}/step`, query: { run: '{{run.id}}', node: id } },
    });
    const workflow = { name: label, nodes: [step('a'), step('b', 'a'), step('c', 'b'), step('d', 'c')] };
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push((await client.api('POST', '/v1/runs', { workflow })).body.runId);
    return ids;
  };

  const expectEachNodeOnce = async (runIds: string[]) => {
    for (const runId of runIds) {
      const run = await client.waitForRun(runId, 60_000);
      expect(run.status, JSON.stringify(run.nodes)).toBe('completed');
      const calls = target.requests
        .filter((r) => r.path === '/step' && r.query.run === runId)
        .map((r) => r.query.node);
      expect(calls.sort()).toEqual(['a', 'b', 'c', 'd']);
    }
  };

  it('completes every run, none twice, after FLUSHALL', async () => {
    const runIds = await submitRuns('flushall', 6);
    await waitUntil(() => target.requests.some((r) => r.query.node === 'b'), 'runs under way');
    await redis.flushAll();
    await expectEachNodeOnce(runIds);
    // Jobs that were waiting were gone: the reconciler enqueued them again from Postgres.
    expect(stack.api.tail(500)).toMatch(/"reason":"job_missing".*re-drove a node/);
  });

  it('completes every run, none twice, after redis-server restarts empty', async () => {
    const runIds = await submitRuns('restart', 6);
    await waitUntil(() => target.requests.filter((r) => r.query.node === 'b').length >= 8, 'runs under way');
    await redis.kill();
    // Every process has lost its connections before Redis comes back empty.
    await Promise.all(
      [stack.api, ...stack.workers].map((process) => process.waitForLine(/redis connection error/, 20_000)),
    );
    await redis.start();
    await expectEachNodeOnce(runIds);
    // The workers reconnected by themselves and keep taking new work.
    await expectEachNodeOnce(await submitRuns('after-restart', 2));
  });
});
