import { NODE_TYPES, type NodeType } from '@flowtrace/workflow';
import { type JobsOptions, Queue } from 'bullmq';
import type { FairQueueOrder } from '../governance/fair-queue-order.ts';
import { type NodeJobData, queueNameFor } from './catalogue.ts';
import type { RedisConnection } from './redis-connection.ts';

export interface NodeJob {
  type: NodeType;
  data: NodeJobData;
  opts: JobsOptions;
}

/**
 * Producer side of the node queues, one BullMQ `Queue` per node type on a shared connection. Our own
 * carrier in the job data sets the consumer's parent, so BullMQ's `telemetry` option stays off.
 */
export class NodeQueues {
  readonly #connection: RedisConnection;
  readonly #prefix: string;
  readonly #order: FairQueueOrder | undefined;
  readonly #queues = new Map<NodeType, Queue>();

  constructor(options: {
    connection: RedisConnection;
    prefix: string;
    /** Orders jobs fairly across tenants with BullMQ priorities; FIFO without it. */
    order?: FairQueueOrder | undefined;
  }) {
    this.#connection = options.connection;
    this.#prefix = options.prefix;
    this.#order = options.order;
  }

  queue(type: NodeType): Queue {
    let queue = this.#queues.get(type);
    if (!queue) {
      queue = new Queue(queueNameFor(type), { connection: this.#connection, prefix: this.#prefix });
      // Errors surface on the add call; the emitter must not crash the process.
      queue.on('error', () => {});
      this.#queues.set(type, queue);
    }
    return queue;
  }

  /** Adds jobs with one round trip per queue. */
  async addAll(jobs: readonly NodeJob[]): Promise<void> {
    const byType = new Map<NodeType, NodeJob[]>();
    for (const job of jobs) byType.set(job.type, [...(byType.get(job.type) ?? []), job]);
    await Promise.all(
      [...byType].map(async ([type, group]) => {
        const priorities = this.#order
          ? await this.#order.assign(
              queueNameFor(type),
              group.map((job) => ({ tenantId: job.data.tenantId, jobId: job.opts.jobId ?? job.data.nodeId })),
            )
          : undefined;
        await this.queue(type).addBulk(
          group.map((job, index) => {
            const priority = priorities?.[index];
            return {
              name: job.data.nodeId,
              data: job.data,
              opts: priority === undefined ? job.opts : { ...job.opts, priority },
            };
          }),
        );
      }),
    );
  }

  /** Jobs per state in every node queue, for the queue-depth gauge. */
  async depths(): Promise<{ queue: string; counts: Record<string, number> }[]> {
    return Promise.all(
      NODE_TYPES.map(async (type) => ({
        queue: queueNameFor(type),
        counts: await this.queue(type).getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
      })),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
  }
}
