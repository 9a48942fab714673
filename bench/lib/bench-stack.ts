import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { type LocalStack, type ManagedProcess, startLocalStack } from '@flowtrace/local-stack';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type CpuSample, cpuDelta, rssBytes, sampleCpu } from './proc.ts';
import type { ReceiverClient } from './receiver-client.ts';
import { deleteKeys } from './redis-keys.ts';
import { sleep } from './stats.ts';
import type { RunExpectation } from './trace-analysis.ts';
import type { BenchWorkflow } from './workflows.ts';

export interface BenchStackOptions {
  /** Names the stack's logs directory and BullMQ prefix. */
  name: string;
  traced: boolean;
  receiver: ReceiverClient;
  logsDir: string;
  /** `--kinds llm` worker processes to start with (0 for an API-only stack). */
  llmWorkers: number;
  env?: Record<string, string>;
  /** Defaults to the shared Redis on 127.0.0.1:6379. */
  redisUrl?: string;
  /** Extra environment for the worker processes only (e.g. `NODE_OPTIONS=--cpu-prof`). */
  workerEnv?: Record<string, string>;
}

export type SubmittedRun = RunExpectation;

export interface DrainResult {
  runs: number;
  completedRuns: number;
  failedRuns: number;
  nodes: number;
  seconds: number;
  nodesPerSecond: number;
  /** CPU milliseconds per node executed, per component, over the drain. */
  cpuMsPerNode: Record<string, number>;
  /** The whole machine's CPU utilisation during the drain (1.0 = every core busy). */
  machineUtilisation: number;
  retries: number;
  submitted: SubmittedRun[];
}

/**
 * One fleet for one scenario: a fresh database (cloned from the migrated template), a fresh BullMQ
 * prefix, the API and `--kinds llm` workers as real child processes (the local stack), exporting to the
 * benchmark's receiver process. Traced or not (`OTEL_SDK_DISABLED=true` in every process).
 */
export class BenchStack {
  readonly name: string;
  readonly traced: boolean;
  readonly stack: LocalStack;
  readonly db: TestDatabase;
  readonly #redis: Redis;
  readonly #queue: Queue;
  readonly #options: BenchStackOptions;
  readonly #workflowIds = new Map<string, { id: string; nodeIds: string[] }>();
  #seq = 0;

  private constructor(options: BenchStackOptions, stack: LocalStack, db: TestDatabase) {
    this.name = options.name;
    this.traced = options.traced;
    this.stack = stack;
    this.db = db;
    this.#options = options;
    this.#redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 2 });
    this.#queue = new Queue('nodes.llm', { connection: this.#redis, prefix: stack.queuePrefix });
    this.#queue.on('error', () => {});
  }

  static async start(options: BenchStackOptions): Promise<BenchStack> {
    const db = await createTestDatabase({ maxConnections: 2 });
    try {
      const stack = await startLocalStack({
        dataDir: path.join(options.logsDir, options.name),
        databaseUrl: db.url,
        ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
        otlpEndpoint: options.receiver.signalsEndpoint,
        queuePrefix: `{ftbench-${options.name}-${randomUUID().slice(0, 6)}}`,
        workers: Array.from({ length: options.llmWorkers }, () => ({
          kinds: ['llm'] as const,
          ...(options.workerEnv ? { env: options.workerEnv } : {}),
        })),
        env: {
          // "worker ready" and "API listening" are info lines; nothing per node is logged at info.
          LOG_LEVEL: 'info',
          OTEL_METRIC_EXPORT_INTERVAL: '2000',
          ...options.receiver.env(),
          ...(options.traced ? {} : { OTEL_SDK_DISABLED: 'true' }),
          ...options.env,
        },
        startupTimeoutMs: 90_000,
      });
      return new BenchStack(options, stack, db);
    } catch (error) {
      await db.drop().catch(() => {});
      throw error;
    }
  }

  get workers(): ManagedProcess[] {
    return this.stack.workers;
  }

  /** Adds `--kinds llm` workers until there are `count`. */
  async scaleWorkers(count: number): Promise<void> {
    const missing = count - this.stack.workers.length;
    for (let i = 0; i < missing; i++) {
      const worker = await this.stack.startWorker({
        kinds: ['llm'],
        ...(this.#options.workerEnv ? { env: this.#options.workerEnv } : {}),
      });
      this.stack.workers.push(worker);
    }
  }

  async api<T = Record<string, unknown>>(method: string, route: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.stack.apiUrl}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${this.stack.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${route}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** Registers the workflow once and returns its id. */
  async register(workflow: BenchWorkflow): Promise<string> {
    const known = this.#workflowIds.get(workflow.name);
    if (known) return known.id;
    const created = await this.api<{ id: string }>('POST', '/v1/workflows', workflow);
    this.#workflowIds.set(workflow.name, { id: created.id, nodeIds: workflow.nodes.map((n) => n.id) });
    return created.id;
  }

  #submitOne = async (workflow: BenchWorkflow): Promise<SubmittedRun> => {
    const known = this.#workflowIds.get(workflow.name);
    if (!known) throw new Error(`workflow ${workflow.name} is not registered`);
    const accepted = await this.api<{ runId: string; traceId: string }>('POST', '/v1/runs', {
      workflowId: known.id,
      input: { seq: this.#seq++ },
    });
    return { runId: accepted.runId, traceId: accepted.traceId, nodeIds: known.nodeIds };
  };

  /** Submits `count` runs through the API, `concurrency` requests at a time. */
  async submit(workflow: BenchWorkflow, count: number, concurrency = 16): Promise<SubmittedRun[]> {
    await this.register(workflow);
    const out: SubmittedRun[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (next < count) {
          next += 1;
          out.push(await this.#submitOne(workflow));
        }
      }),
    );
    return out;
  }

  /** Submits `count` runs at a steady `perSecond` (open loop: the schedule does not wait for the fleet). */
  async submitPaced(workflow: BenchWorkflow, count: number, perSecond: number): Promise<SubmittedRun[]> {
    await this.register(workflow);
    const start = performance.now();
    const pending: Promise<SubmittedRun>[] = [];
    for (let i = 0; i < count; i++) {
      const due = start + (i * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      pending.push(this.#submitOne(workflow));
    }
    return Promise.all(pending);
  }

  /** Waits until every run is terminal; returns how many completed and failed. */
  async waitForRuns(
    runs: readonly SubmittedRun[],
    timeoutMs: number,
  ): Promise<{ completed: number; failed: number }> {
    const ids = runs.map((r) => r.runId);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [row] = await this.db.handle.sql<{ completed: number; failed: number; open: number }[]>`
        select count(*) filter (where status = 'completed')::int as completed,
               count(*) filter (where status in ('failed', 'cancelled'))::int as failed,
               count(*) filter (where status not in ('completed', 'failed', 'cancelled'))::int as open
        from runs where id = any(${ids}::uuid[])`;
      if (row && row.open === 0 && row.completed + row.failed === ids.length) return row;
      if (Date.now() > deadline) {
        throw new Error(
          `${this.name}: ${row?.open ?? '?'} of ${ids.length} runs still open after ${timeoutMs} ms`,
        );
      }
      await sleep(25);
    }
  }

  pids(): Record<string, (number | undefined)[]> {
    return {
      api: [this.stack.api.pid],
      workers: this.stack.workers.map((w) => w.pid),
      receiver: [this.#options.receiver.pid],
      bench: [process.pid],
    };
  }

  sampleCpu(): CpuSample {
    return sampleCpu(this.pids());
  }

  workerRss(): number[] {
    return this.stack.workers.map((w) => (w.pid === undefined ? 0 : (rssBytes(w.pid) ?? 0)));
  }

  apiRss(): number {
    return this.stack.api.pid === undefined ? 0 : (rssBytes(this.stack.api.pid) ?? 0);
  }

  /**
   * The throughput measurement: with the node queue paused, submit `count` runs through the API; then
   * resume and time the fleet from the resume to the last run's `finished_at`. The workers are warm and
   * connected, every job is already waiting, and submission cost is excluded (it is scenario 3's).
   */
  async drain(
    workflow: BenchWorkflow,
    count: number,
    options: { timeoutMs?: number; beforeResume?: () => Promise<void> } = {},
  ): Promise<DrainResult> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    await this.#queue.pause();
    let submitted: SubmittedRun[];
    try {
      submitted = await this.submit(workflow, count);
    } catch (error) {
      await this.#queue.resume();
      throw error;
    }
    await options.beforeResume?.();
    const before = this.sampleCpu();
    const resumedAt = Date.now();
    await this.#queue.resume();
    const { completed, failed } = await this.waitForRuns(submitted, timeoutMs);
    const after = this.sampleCpu();
    const ids = submitted.map((r) => r.runId);
    const [row] = await this.db.handle.sql<{ finished: Date; nodes: number; retries: number }[]>`
      select (select max(finished_at) from runs where id = any(${ids}::uuid[])) as finished,
             count(*) filter (where status = 'completed')::int as nodes,
             coalesce(sum(greatest(attempt - 1, 0)), 0)::int as retries
      from node_runs where run_id = any(${ids}::uuid[])`;
    if (!row) throw new Error('no drain window');
    const seconds = Math.max(0.001, (row.finished.getTime() - resumedAt) / 1000);
    const cpu = cpuDelta(before, after);
    const cpuMsPerNode: Record<string, number> = {};
    for (const [name, ms] of Object.entries(cpu)) {
      if (name !== 'wall' && name !== 'machine') cpuMsPerNode[name] = ms / Math.max(1, row.nodes);
    }
    cpuMsPerNode.total = (cpu.machine ?? 0) / Math.max(1, row.nodes);
    const cores = availableParallelism();
    return {
      runs: count,
      completedRuns: completed,
      failedRuns: failed,
      nodes: row.nodes,
      seconds,
      nodesPerSecond: row.nodes / seconds,
      cpuMsPerNode,
      machineUtilisation: (cpu.machine ?? 0) / ((cpu.wall ?? 1) * cores),
      retries: row.retries,
      submitted,
    };
  }

  async pauseQueue(): Promise<void> {
    await this.#queue.pause();
  }

  async resumeQueue(): Promise<void> {
    await this.#queue.resume();
  }

  /** The fleet's process ids (API and every worker started so far). */
  allPids(): number[] {
    return [this.stack.api.pid, ...this.stack.workers.map((w) => w.pid)].filter((p) => p !== undefined);
  }

  /**
   * Stops the processes, deletes this stack's BullMQ keys and drops its database. A traced fleet first
   * waits for one more metrics export, so the SDK counters the receiver holds include the last spans.
   */
  async stop(): Promise<void> {
    if (this.traced) await sleep(2_200);
    await this.stack.stop().catch(() => {});
    await this.#queue.close().catch(() => {});
    await deleteKeys(this.#redis, `${this.stack.queuePrefix}:*`).catch(() => {});
    this.#redis.disconnect();
    await this.db.drop().catch(() => {});
  }
}
