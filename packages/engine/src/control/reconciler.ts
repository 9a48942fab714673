import {
  carrierSpanContext,
  contextWithSpanContext,
  type Logger,
  W3cTraceState,
  withSpan,
} from '@flowtrace/telemetry';
import { isNodeType } from '@flowtrace/workflow';
import { ROOT_CONTEXT, type Tracer } from '@opentelemetry/api';
import type { NodeDispatcher } from '../dispatch/node-dispatcher.ts';
import { predecessorLinks } from '../dispatch/node-dispatcher.ts';
import type { FleetMetrics } from '../metrics/fleet-metrics.ts';
import type { NodeQueues } from '../queue/node-queues.ts';
import { retrySettingsFor } from '../queue/retry-settings.ts';
import type { RunControlStore, StaleNode } from '../store/run-control-store.ts';
import type { WorkflowCatalog } from '../store/workflow-catalog.ts';
import type { RunTerminator } from './run-terminator.ts';

export interface ReconcilerOptions {
  intervalMs: number;
  /** A queued node without a live job is re-driven after this long (covers a lost or skipped enqueue). */
  queuedGraceMs: number;
  /** A running node whose heartbeat is older than this has lost its worker. */
  heartbeatStaleMs: number;
  batchSize: number;
}

export interface ReconcilerDeps {
  store: RunControlStore;
  terminator: RunTerminator;
  catalog: WorkflowCatalog;
  queues: NodeQueues;
  dispatcher: NodeDispatcher;
  metrics: FleetMetrics;
  tracer: Tracer;
  logger: Logger;
}

export interface TickResult {
  led: boolean;
  timedOut: number;
  redriven: number;
}

/** Job states in which BullMQ will (still) run the job: nothing to re-drive. */
const LIVE_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children', 'active']);

/**
 * Re-drives runs whose Postgres state and Redis state disagree: nodes Postgres says are queued (or running
 * on a worker that stopped heartbeating) whose job is missing from Redis or already finished there (a crash
 * between commit and enqueue, Redis data lost, a job BullMQ gave up on). The job id is the node's
 * deterministic id, so a re-drive never runs beside a live job, and the claim in Postgres rejects stale
 * deliveries. Also ends runs past their deadline. One process leads each tick (a Postgres advisory lock).
 */
export class Reconciler {
  readonly #deps: ReconcilerDeps;
  readonly #options: ReconcilerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(deps: ReconcilerDeps, options: ReconcilerOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#running) return;
      this.#running = this.tick()
        .catch((error) =>
          this.#deps.logger.warn({ err: error }, 'reconciler tick failed; trying again next interval'),
        )
        .finally(() => {
          this.#running = undefined;
        });
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  async tick(): Promise<TickResult> {
    const { led, result } = await this.#deps.store.withLeadership(async () => {
      let timedOut = 0;
      for (const run of await this.#deps.store.findTimedOutRuns(this.#options.batchSize)) {
        const outcome = await withSpan(this.#deps.tracer, 'reconcile run_timeout', {}, () =>
          this.#deps.terminator.timeOut(run.runId, run.deadlineAt),
        );
        if (outcome.outcome === 'terminated') timedOut++;
      }
      let redriven = 0;
      const stale = await this.#deps.store.findStaleNodes({
        queuedGraceMs: this.#options.queuedGraceMs,
        heartbeatStaleMs: this.#options.heartbeatStaleMs,
        limit: this.#options.batchSize,
      });
      for (const node of stale) {
        if (await this.#reconcileNode(node)) redriven++;
      }
      return { timedOut, redriven };
    });
    if (result && (result.timedOut > 0 || result.redriven > 0))
      this.#deps.logger.info(result, 'reconciler acted');
    return { led, timedOut: result?.timedOut ?? 0, redriven: result?.redriven ?? 0 };
  }

  async #reconcileNode(node: StaleNode): Promise<boolean> {
    if (!isNodeType(node.type)) return false;
    const queue = this.#deps.queues.queue(node.type);
    const jobId = node.jobId;
    const job = jobId ? await queue.getJob(jobId) : undefined;
    const state = job ? await job.getState() : 'missing';
    if (LIVE_STATES.has(state)) return false;
    const reason =
      node.status === 'running' ? 'worker_lost' : state === 'missing' ? 'job_missing' : `job_${state}`;

    const workflow = await this.#deps.catalog.get(node.workflowId);
    if (!workflow) return false;
    const definition = workflow.node(node.nodeId);
    // The re-drive continues the run's trace under its invoke_workflow span, which always ends up exported;
    // the dispatch it replaces (whose span a crashed process may never have exported) is linked.
    const traceState = W3cTraceState.parse(node.traceState ?? undefined);
    const parent = contextWithSpanContext(ROOT_CONTEXT, {
      traceId: node.traceId,
      spanId: node.runSpanId,
      traceFlags: node.traceFlags,
      isRemote: true,
      ...(traceState ? { traceState } : {}),
    });
    const replaced = carrierSpanContext(node.carrier ?? undefined);
    const prepared = this.#deps.dispatcher.prepare(
      parent,
      { runId: node.runId, workflowId: node.workflowId, tenantId: node.tenantId },
      [
        {
          ...(replaced
            ? {
                sendLinks: [
                  { context: replaced, attributes: { 'flowtrace.link.type': 'replaced_dispatch' } },
                ],
              }
            : {}),
          nodeId: node.nodeId,
          type: node.type,
          retry: retrySettingsFor(definition),
          links: predecessorLinks(node.predecessors, null, node.traceFlags),
          redriveReason: reason,
          attempts: Math.max(1, node.maxAttempts - node.attempt),
        },
      ],
    );
    const record = prepared.records[0];
    if (!record) return false;
    // A finished job with this id would swallow the add; remove it first (a live one was ruled out above).
    if (job) await job.remove().catch(() => {});
    await this.#deps.store.recordRedrive(node.runId, node.nodeId, record.jobId, record.carrier);
    await this.#deps.dispatcher.send(prepared);
    this.#deps.metrics.redrive(reason, node.type);
    this.#deps.logger.warn(
      { runId: node.runId, nodeId: node.nodeId, reason, jobState: state },
      're-drove a node',
    );
    return true;
  }
}
