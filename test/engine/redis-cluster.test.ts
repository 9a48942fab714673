import { noopDeferredSpanEmitter } from '@flowtrace/telemetry';
import type { NodeExecutor } from '@flowtrace/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';
import { type PrivateRedisCluster, startPrivateRedisCluster } from '../support/private-servers.ts';

const echo = (type: 'llm' | 'connector'): NodeExecutor => ({
  type,
  execute: async (ctx) => ({ node: ctx.nodeId, upstream: Object.keys(ctx.upstream).sort() }),
});

/**
 * BullMQ on a real three-primary Redis Cluster: every key of a queue carries the `{…}` hash tag of
 * QUEUE_PREFIX, so the Lua scripts never touch two slots (CROSSSLOT), and runs complete as on one node.
 */
describe('the engine on Redis Cluster', () => {
  let cluster: PrivateRedisCluster;
  let fleet: InProcessFleet;

  beforeAll(async () => {
    cluster = await startPrivateRedisCluster();
    fleet = await startInProcessFleet({
      executors: [echo('llm'), echo('connector')],
      deferredSpans: noopDeferredSpanEmitter,
      redis: { url: cluster.url, cluster: true },
      reconciler: true,
    });
  }, 60_000);
  afterAll(async () => {
    await fleet?.close();
    await cluster?.close();
  });

  it('runs fan-out and fan-in workflows', async () => {
    const workflow = {
      name: 'on-cluster',
      nodes: [
        { id: 'a', type: 'llm', config: { provider: 'simulated', model: 'm', prompt: 'x' } },
        { id: 'b', type: 'connector', dependsOn: ['a'], config: { url: 'http://unused.test/' } },
        { id: 'c', type: 'connector', dependsOn: ['a'], config: { url: 'http://unused.test/' } },
        {
          id: 'd',
          type: 'llm',
          dependsOn: ['b', 'c'],
          config: { provider: 'simulated', model: 'm', prompt: 'y' },
        },
      ],
    };
    const runIds = await Promise.all(
      Array.from(
        { length: 5 },
        async () =>
          (
            await fleet.app.inject({
              method: 'POST',
              url: '/v1/runs',
              headers: { authorization: `Bearer ${fleet.apiKey}` },
              payload: { workflow },
            })
          ).json().runId as string,
      ),
    );
    for (const runId of runIds) {
      const run = await fleet.waitForRun(runId);
      expect(run.status).toBe('completed');
      expect((run.output as { d: { upstream: string[] } }).d.upstream).toEqual(['a', 'b', 'c']);
    }
  });
});
