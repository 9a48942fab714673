import { randomUUID } from 'node:crypto';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeJob, NodeQueues } from '../queue/node-queues.ts';
import { createRedis, type RedisConnection } from '../queue/redis-connection.ts';
import { retrySettingsFor } from '../queue/retry-settings.ts';
import { NodeDispatcher } from './node-dispatcher.ts';

/** Real queues on a fresh prefix that remember how many enqueues they were asked for. */
class CountingQueues extends NodeQueues {
  readonly calls: number[] = [];
  override addAll(jobs: readonly NodeJob[]): Promise<void> {
    this.calls.push(jobs.length);
    return super.addAll(jobs);
  }
}

describe('NodeDispatcher (real Redis)', () => {
  let redis: RedisConnection;
  let queues: CountingQueues;
  const prefix = `{test-dispatch-${randomUUID().slice(0, 8)}}`;

  beforeAll(() => {
    redis = createRedis({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', role: 'producer' });
    queues = new CountingQueues({ connection: redis, prefix });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await queues.close();
    redis.disconnect();
  });

  const node = (nodeId: string) => ({
    nodeId,
    type: 'llm' as const,
    retry: retrySettingsFor({ type: 'llm' } as Parameters<typeof retrySettingsFor>[0]),
    links: [],
  });

  it('enqueues the sends of one turn with one enqueue, and every job arrives', async () => {
    const dispatcher = new NodeDispatcher({ queues, tracer: trace.getTracer('dispatch-test') });
    const tenantId = randomUUID();
    const prepared = Array.from({ length: 5 }, () =>
      dispatcher.prepare(ROOT_CONTEXT, { runId: randomUUID(), workflowId: randomUUID(), tenantId }, [
        node('a'),
        node('b'),
      ]),
    );
    queues.calls.length = 0;
    await Promise.all(prepared.map((p) => dispatcher.send(p)));
    expect(queues.calls).toEqual([10]);
    const waiting = await queues.queue('llm').getJobCounts('waiting', 'prioritized');
    expect((waiting.waiting ?? 0) + (waiting.prioritized ?? 0)).toBe(10);

    // Sends of different turns are enqueued each on its own.
    const later = dispatcher.prepare(
      ROOT_CONTEXT,
      { runId: randomUUID(), workflowId: randomUUID(), tenantId },
      [node('c')],
    );
    await dispatcher.send(later);
    expect(queues.calls).toEqual([10, 1]);
  });
});
