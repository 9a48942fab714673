import {
  carrierSpanContext,
  contextWithSpanContext,
  FlowtraceAttributes,
  FlowtraceLinkTypes,
  type Logger,
  W3cTraceState,
  withSpan,
} from '@flowtrace/telemetry';
import { isNodeType } from '@flowtrace/workflow';
import { type Context, ROOT_CONTEXT, type Tracer, trace } from '@opentelemetry/api';
import type { NodeDispatcher } from '../dispatch/node-dispatcher.ts';
import { predecessorLinks } from '../dispatch/node-dispatcher.ts';
import type { FleetMetrics } from '../metrics/fleet-metrics.ts';
import type { NodeQueues } from '../queue/node-queues.ts';
import { retrySettingsFor } from '../queue/retry-settings.ts';
import type { DeferredRunSpans } from '../runtime/deferred-run-spans.ts';
import type { NodeStateStore } from '../store/node-state-store.ts';
import type { RunControlStore, StaleNode } from '../store/run-control-store.ts';
import type { FinishedRun, StoredError } from '../store/types.ts';
import type { CompiledWorkflow, WorkflowCatalog } from '../store/workflow-catalog.ts';
import type { LeaderLock } from './leader-lock.ts';
import type { RunTerminator } from './run-terminator.ts';

export interface ReconcilerOptions {
  intervalMs: number;
  /** A queued node without a live job is re-driven after this long (covers a lost or skipped enqueue). */
  queuedGraceMs: number;
  /** A running node whose heartbeat is older than this has lost its worker. */
  heartbeatStaleMs: number;
  batchSize: number;
  /**
   * Re-drives of one node before the reconciler gives up on it and fails it (`redrive_limit_exceeded`):
   * a node that keeps losing its job or its worker (an outcome that can never be written, a crash it
   * causes) must not be executed, and its external calls repeated, without bound.
   */
  maxRedrives: number;
}

export interface ReconcilerDeps {
  store: RunControlStore;
  /** Who leads this tick: one reconciler in the fleet acts at a time. */
  leader: LeaderLock;
  /** Records a node the reconciler gives up on, as a worker records a failed node. */
  nodes: NodeStateStore;
  runSpans: DeferredRunSpans;
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
  /** Nodes failed because they reached the re-drive limit. */
  gaveUp: number;
  /** Model calls left `reserved` in ended runs (their workers died mid-call), marked `abandoned`. */
  abandonedCalls: number;
}

/** Job states in which BullMQ will (still) run the job: nothing to re-drive. */
const LIVE_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children', 'active']);

/**
 * Re-drives runs whose Postgres state and Redis state disagree: nodes Postgres says are queued (or running
 * on a worker that stopped heartbeating) whose job is missing from Redis or already finished there (a crash
 * between commit and enqueue, Redis data lost, a job BullMQ gave up on). The job id is the node's
 * deterministic id, so a re-drive never runs beside a live job, and the claim in Postgres rejects stale
 * deliveries. Also ends runs past their deadline, and marks the model calls that dead workers left reserved
 * in ended runs `abandoned`. One process leads each tick (a Postgres advisory lock).
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
    const { led, result } = await this.#deps.leader.withLeadership(async () => {
      let timedOut = 0;
      for (const run of await this.#deps.store.findTimedOutRuns(this.#options.batchSize)) {
        const outcome = await withSpan(this.#deps.tracer, 'reconcile run_timeout', {}, () =>
          this.#deps.terminator.timeOut(run.runId, run.deadlineAt),
        );
        if (outcome.outcome === 'terminated') timedOut++;
      }
      let redriven = 0;
      let gaveUp = 0;
      const stale = await this.#deps.store.findStaleNodes({
        queuedGraceMs: this.#options.queuedGraceMs,
        heartbeatStaleMs: this.#options.heartbeatStaleMs,
        limit: this.#options.batchSize,
      });
      for (const node of stale) {
        const action = await this.#reconcileNode(node);
        if (action === 'redriven') redriven++;
        else if (action === 'gave_up') gaveUp++;
      }
      const abandonedCalls = await this.#deps.store.abandonReservationsOfEndedRuns(
        this.#options.heartbeatStaleMs,
        this.#options.batchSize,
      );
      return { timedOut, redriven, gaveUp, abandonedCalls };
    });
    if (result && Object.values(result).some((n) => n > 0))
      this.#deps.logger.info(result, 'reconciler acted');
    return {
      led,
      timedOut: result?.timedOut ?? 0,
      redriven: result?.redriven ?? 0,
      gaveUp: result?.gaveUp ?? 0,
      abandonedCalls: result?.abandonedCalls ?? 0,
    };
  }

  async #reconcileNode(node: StaleNode): Promise<'redriven' | 'gave_up' | 'none'> {
    if (!isNodeType(node.type)) return 'none';
    const queue = this.#deps.queues.queue(node.type);
    const jobId = node.jobId;
    const job = jobId ? await queue.getJob(jobId) : undefined;
    const state = job ? await job.getState() : 'missing';
    if (LIVE_STATES.has(state)) return 'none';
    const reason =
      node.status === 'running' ? 'worker_lost' : state === 'missing' ? 'job_missing' : `job_${state}`;

    const workflow = await this.#deps.catalog.get(node.workflowId);
    if (!workflow) return 'none';
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
    if (node.redrives >= this.#options.maxRedrives) {
      return (await this.#giveUp(node, workflow, reason, parent)) ? 'gave_up' : 'none';
    }
    const replaced = carrierSpanContext(node.carrier ?? undefined);
    const prepared = this.#deps.dispatcher.prepare(
      parent,
      { runId: node.runId, workflowId: node.workflowId, tenantId: node.tenantId },
      [
        {
          ...(replaced
            ? {
                sendLinks: [
                  {
                    context: replaced,
                    attributes: { [FlowtraceAttributes.LINK_TYPE]: FlowtraceLinkTypes.REPLACED_DISPATCH },
                  },
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
    if (!record) return 'none';
    // Counted before the job is sent: a re-drive that was sent is always counted. False when the node
    // moved on since it was read (a worker claimed or finished it).
    if (!(await this.#deps.store.recordRedrive(node, record.jobId, record.carrier))) return 'none';
    // A finished job with this id would swallow the add; remove it first (a live one was ruled out above).
    if (job) await job.remove().catch(() => {});
    await this.#deps.dispatcher.send(prepared);
    this.#deps.metrics.redrive(reason, node.type);
    this.#deps.logger.warn(
      { runId: node.runId, nodeId: node.nodeId, reason, jobState: state, redrive: node.redrives + 1 },
      're-drove a node',
    );
    return 'redriven';
  }

  /**
   * Fails a node that reached the re-drive limit, as a worker fails a node for good: its run fails (waiting
   * nodes skipped), or, with `continueOnFailure`, its successors go on. Rows carry the run's trace id.
   */
  async #giveUp(node: StaleNode, workflow: CompiledWorkflow, reason: string, parent: Context) {
    const definition = workflow.node(node.nodeId);
    const error: StoredError = {
      code: 'redrive_limit_exceeded',
      message:
        `node "${node.nodeId}" was re-driven ${node.redrives} times without reaching an outcome ` +
        `(last: ${reason}); it is failed rather than run again (RECONCILER_MAX_REDRIVES=${this.#options.maxRedrives})`,
      nodeId: node.nodeId,
      details: { redrives: node.redrives, reason },
    };
    const target = { runId: node.runId, workflowId: node.workflowId, tenantId: node.tenantId };
    return withSpan(
      this.#deps.tracer,
      'reconcile redrive_limit_exceeded',
      {
        parent,
        attributes: { [FlowtraceAttributes.RUN_ID]: node.runId, [FlowtraceAttributes.NODE_ID]: node.nodeId },
      },
      async (span) => {
        const ids = span.spanContext();
        const ref = {
          runId: node.runId,
          nodeId: node.nodeId,
          attempt: node.attempt,
          tenantId: node.tenantId,
          traceId: node.traceId,
          spanId: ids.traceId === node.traceId ? ids.spanId : node.runSpanId,
          fromStatus: node.status,
          error,
          ledger: { modelCalls: [], agentSteps: [] },
        };
        let finishedRun: FinishedRun | null;
        let othersRunning = false;
        if (definition.continueOnFailure) {
          // The outcome counts towards the run (and readies its successors) only once the run is running.
          await this.#deps.store.markRunning(node.runId);
          const all = this.#deps.dispatcher.prepare(
            trace.setSpan(parent, span),
            target,
            workflow.successors(node.nodeId).map((id) => {
              const next = workflow.node(id);
              return { nodeId: next.id, type: next.type, retry: retrySettingsFor(next), links: [] };
            }),
          );
          const result = await this.#deps.nodes.finishNode({
            ...ref,
            status: 'failed',
            output: null,
            isSink: workflow.sinks.includes(node.nodeId),
            sinks: workflow.sinks,
            dispatches: all.records,
          });
          if (!result.applied) return false;
          const links = new Map(
            result.ready.map((r) => [
              r.nodeId,
              predecessorLinks(r.predecessors, node.nodeId, node.traceFlags),
            ]),
          );
          await this.#deps.dispatcher
            .send(this.#deps.dispatcher.select(all, links))
            .catch((err) =>
              this.#deps.logger.warn(
                { err, runId: node.runId },
                'could not enqueue successors; next tick will',
              ),
            );
          finishedRun = result.finishedRun;
        } else {
          const result = await this.#deps.nodes.failRun(ref);
          if (!result.applied) return false;
          finishedRun = result.finishedRun;
          othersRunning = result.runningNodes > 0;
        }
        const name = { name: workflow.name, version: workflow.version };
        if (finishedRun && othersRunning) {
          await this.#deps.terminator.stopRunningNodes(
            finishedRun,
            name,
            `stopped because node "${node.nodeId}" failed the run (${error.code})`,
          );
        } else if (finishedRun) this.#deps.runSpans.runFinished(finishedRun, name);
        this.#deps.logger.error(
          { runId: node.runId, nodeId: node.nodeId, redrives: node.redrives, reason },
          'node reached the re-drive limit; failed it',
        );
        return true;
      },
    );
  }
}
