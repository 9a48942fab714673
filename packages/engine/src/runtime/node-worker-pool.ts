import type { Logger } from '@flowtrace/telemetry';
import type { NodeType } from '@flowtrace/workflow';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { FairQueueOrder } from '../governance/fair-queue-order.ts';
import type { InflightGate } from '../governance/inflight-gate.ts';
import type { FleetMetrics } from '../metrics/fleet-metrics.ts';
import { type NodeJobData, queueNameFor } from '../queue/catalogue.ts';
import type { RedisConnection } from '../queue/redis-connection.ts';
import { backoffDelay } from '../queue/retry-settings.ts';
import type { NodeProcessor } from './node-processor.ts';
import type { RunSignals } from './run-signals.ts';
import { WorkerShutdownError } from './stop-reasons.ts';

export interface NodeWorkerPoolOptions {
  kinds: readonly NodeType[];
  /** Jobs each worker runs at once, per node type. */
  concurrency: Readonly<Record<NodeType, number>>;
  prefix: string;
  /** Name stored on each job this process takes (host and pid make it findable). */
  workerName: string;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
}

/** Thrown to BullMQ for an attempt that will be retried; carries the delay the engine chose. */
class RetryLaterError extends Error {
  readonly delayMs: number;
  constructor(message: string, delayMs: number) {
    super(message);
    this.name = 'RetryLaterError';
    this.delayMs = delayMs;
  }
}

/** One BullMQ `Worker` per node type this process consumes, all feeding the same `NodeProcessor`. */
export class NodeWorkerPool {
  readonly #connection: RedisConnection;
  readonly #processor: NodeProcessor;
  readonly #signals: RunSignals;
  readonly #logger: Logger;
  readonly #metrics: FleetMetrics;
  readonly #options: NodeWorkerPoolOptions;
  readonly #workers: Worker[] = [];
  readonly #order: FairQueueOrder | undefined;
  readonly #gate: InflightGate | undefined;

  constructor(
    deps: {
      connection: RedisConnection;
      processor: NodeProcessor;
      signals: RunSignals;
      metrics: FleetMetrics;
      logger: Logger;
      /** The fair order's waiting sets, left as each job starts (when the queues use it). */
      order?: FairQueueOrder | undefined;
      /** Frees a tenant's in-flight slot when a node ends for good (when tenants may have the limit). */
      gate?: InflightGate | undefined;
    },
    options: NodeWorkerPoolOptions,
  ) {
    this.#connection = deps.connection;
    this.#processor = deps.processor;
    this.#signals = deps.signals;
    this.#metrics = deps.metrics;
    this.#logger = deps.logger;
    this.#order = deps.order;
    this.#gate = deps.gate;
    this.#options = options;
  }

  start(): void {
    for (const kind of this.#options.kinds) {
      const worker = new Worker<NodeJobData>(queueNameFor(kind), (job) => this.#handle(job), {
        connection: this.#connection,
        prefix: this.#options.prefix,
        name: this.#options.workerName,
        concurrency: this.#options.concurrency[kind],
        lockDuration: this.#options.lockDurationMs,
        stalledInterval: this.#options.stalledIntervalMs,
        maxStalledCount: this.#options.maxStalledCount,
        settings: {
          backoffStrategy: (attemptsMade, _type, error, job) =>
            error instanceof RetryLaterError
              ? error.delayMs
              : backoffDelay(
                  (job?.data as NodeJobData | undefined)?.backoff ?? DEFAULT_BACKOFF,
                  attemptsMade,
                  undefined,
                ),
        },
      });
      worker.on('error', (error) => this.#logger.error({ err: error, queue: worker.name }, 'worker error'));
      worker.on('stalled', (jobId) => {
        this.#metrics.jobStalled(worker.name);
        this.#logger.warn({ jobId, queue: worker.name }, 'job stalled; re-delivering');
      });
      this.#workers.push(worker);
    }
  }

  /** Resolves when every worker is connected and fetching. */
  async waitUntilReady(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.waitUntilReady()));
  }

  /**
   * Stops fetching, lets in-flight nodes finish until the deadline, then aborts them and releases their
   * jobs (their locks lapse and another worker takes them over after the stall check).
   */
  async close(deadlineMs: number): Promise<{ graceful: boolean }> {
    const graceful = Promise.all(this.#workers.map((w) => w.close())).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), deadlineMs);
    });
    const finished = await Promise.race([graceful, deadline]);
    clearTimeout(timer);
    if (!finished) {
      this.#signals.abortAll(new WorkerShutdownError());
      await Promise.all(this.#workers.map((w) => w.close(true)));
    }
    return { graceful: finished };
  }

  async #handle(job: Job<NodeJobData>): Promise<void> {
    const tenantId = (job.data as Partial<NodeJobData> | undefined)?.tenantId;
    if (this.#order && tenantId && job.id) {
      this.#order.started(job.queueName, tenantId, job.id).catch((error: unknown) => {
        this.#logger.debug({ err: error, jobId: job.id }, 'could not update the fair order');
      });
    }
    const outcome = await this.#processor.process({
      id: job.id ?? '',
      queueName: job.queueName,
      data: job.data,
      // Queue wait is measured on first delivery only; a retry's wait would include its backoff.
      readyAt: job.attemptsStarted <= 1 ? job.timestamp + (job.opts.delay ?? 0) : undefined,
    });
    if (outcome.kind !== 'retry' && this.#gate && tenantId) await this.#nodeDone(job, tenantId);
    switch (outcome.kind) {
      case 'completed':
      case 'not_runnable':
        return;
      case 'retry':
        throw new RetryLaterError(`${outcome.error.code}: ${outcome.error.message}`, outcome.delayMs);
      case 'failed':
        throw new UnrecoverableError(`${outcome.error.code}: ${outcome.error.message}`);
      default:
        assertNever(outcome);
    }
  }

  /** The node ended for good: its tenant's in-flight slot goes to the next held node (never failing the job). */
  async #nodeDone(job: Job<NodeJobData>, tenantId: string): Promise<void> {
    try {
      await this.#gate?.nodeDone(tenantId, job.data.runId, job.data.nodeId);
    } catch (error) {
      // The slot is pruned and the held nodes released by the API's sweep.
      this.#logger.warn({ err: error, jobId: job.id }, 'could not release the in-flight slot of a node');
    }
  }
}

const DEFAULT_BACKOFF = { type: 'exponential', delayMs: 1_000, maxDelayMs: 30_000, jitter: 0.2 } as const;

function assertNever(value: never): never {
  throw new Error(`unexpected outcome ${JSON.stringify(value)}`);
}
