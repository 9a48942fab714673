import type { Logger } from '@flowtrace/telemetry';
import {
  carrierSpanContext,
  extractCarrier,
  FlowtraceAttributes,
  recordSpanError,
  semconv,
} from '@flowtrace/telemetry';
import type { JsonValue } from '@flowtrace/workflow';
import { type Context, context, type Span, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import type { RunStopChannel } from '../control/run-stop-channel.ts';
import type { NodeDispatcher } from '../dispatch/node-dispatcher.ts';
import type { SpendLedger } from '../governance/spend-ledger.ts';
import type { TenantLimitsStore } from '../governance/tenant-limits.ts';
import type { FleetMetrics } from '../metrics/fleet-metrics.ts';
import { type NodeJobData, nodeJobSchema } from '../queue/catalogue.ts';
import type { ClaimedNode } from '../store/claim-node.ts';
import type { NodeStateStore } from '../store/node-state-store.ts';
import type { WorkflowCatalog } from '../store/workflow-catalog.ts';
import { nodeMessageAttributes } from '../tracing/node-message-attributes.ts';
import { startHeartbeat } from './attempt-heartbeat.ts';
import { AttemptLedger } from './attempt-ledger.ts';
import { AttemptRecorder, type CommitHook, type NodeOutcome } from './attempt-recorder.ts';
import type { DeferredRunSpans } from './deferred-run-spans.ts';
import { executeAttempt } from './execute-attempt.ts';
import type { ExecutorRegistry } from './executor-registry.ts';
import type { Attempt } from './node-attempt.ts';
import { RunEndHandoff } from './run-end-handoff.ts';
import type { RunSignals } from './run-signals.ts';
import { RunStoppedError, WorkerShutdownError } from './stop-reasons.ts';
import { permanentIfTooDeep } from './storable-output.ts';

/** A job as the processor sees it (BullMQ-independent, for tests). */
export interface NodeJobEnvelope {
  id: string;
  queueName: string;
  data: unknown;
  /** When the job became ready the first time (enqueue time plus any delay); for the queue-wait metric. */
  readyAt?: number | undefined;
}

export interface NodeProcessorOptions {
  /** Per-attempt time limit for nodes that set none. */
  defaultTimeoutMs: number;
  /** Largest node output stored in Postgres (bytes of JSON). */
  maxOutputBytes: number;
  /** How often a running attempt renews its heartbeat in Postgres. */
  heartbeatMs: number;
  /** Test-only failure injection after an outcome has committed (see `CommitHook`). */
  onCommitted?: CommitHook | undefined;
  /**
   * When a node fails its run while other nodes of it are running, how long this process waits for their
   * workers to record the run's `invoke_workflow` before recording it itself. Default 30 s.
   */
  runSpanGraceMs?: number | undefined;
}

export interface NodeProcessorDeps {
  store: NodeStateStore;
  catalog: WorkflowCatalog;
  executors: ExecutorRegistry;
  dispatcher: NodeDispatcher;
  runSpans: DeferredRunSpans;
  signals: RunSignals;
  metrics: FleetMetrics;
  tracer: Tracer;
  logger: Logger;
  /** Where model calls are written as they are answered, and reserved against the tenant's budgets. */
  spend: SpendLedger;
  limits: TenantLimitsStore;
  /**
   * Tells the workers of a run's other running nodes to stop when a node fails the run. Without it they
   * notice at their next heartbeat.
   */
  stops?: RunStopChannel;
}

/**
 * Executes one node job inside a `process <queue>` CONSUMER span whose parent is the producer span from
 * the job's carrier: claim the node in Postgres, execute it (heartbeating, with a timeout and the run's
 * cancellation wired to its AbortSignal), record the outcome with its ledger rows and, in the same
 * transaction, the successors that became ready (`AttemptRecorder`); then enqueue those, end the span and,
 * when the run ended, emit its `invoke_workflow` span (`RunEndHandoff`).
 */
export class NodeProcessor {
  readonly #deps: NodeProcessorDeps;
  readonly #options: NodeProcessorOptions;
  readonly #runEnds: RunEndHandoff;
  readonly #recorder: AttemptRecorder;

  constructor(deps: NodeProcessorDeps, options: NodeProcessorOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#runEnds = new RunEndHandoff(deps, options.runSpanGraceMs ?? 30_000);
    this.#recorder = new AttemptRecorder({
      ...deps,
      runEnds: this.#runEnds,
      onCommitted: options.onCommitted,
    });
  }

  async process(job: NodeJobEnvelope): Promise<NodeOutcome> {
    const parsed = nodeJobSchema.safeParse(job.data);
    if (!parsed.success) {
      this.#deps.logger.error(
        { jobId: job.id, queue: job.queueName },
        'dropping a job whose data is not a node job',
      );
      return {
        kind: 'failed',
        error: { code: 'invalid_request', message: 'job data is not a valid node job' },
      };
    }
    const data = parsed.data;
    this.#deps.metrics.jobConsumed(
      job.queueName,
      undefined,
      job.readyAt === undefined ? undefined : Math.max(0, Date.now() - job.readyAt) / 1000,
    );
    const parent = extractCarrier(data.carrier);
    const span = this.#deps.tracer.startSpan(
      `process ${job.queueName}`,
      {
        kind: SpanKind.CONSUMER,
        links: data.links.map((link) => ({ context: { ...link, isRemote: true } })),
        attributes: nodeMessageAttributes('process', job.queueName, job.id, data),
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    try {
      return await context.with(ctx, () => this.#run(job, data, span, ctx));
    } catch (error) {
      // Infrastructure failures (Postgres, Redis) and shutdown: the node state is unchanged; BullMQ
      // re-delivers the job (retry or stall) and the reconciler covers a job that is lost for good.
      recordSpanError(span, error);
      if (!(error instanceof WorkerShutdownError)) {
        this.#deps.logger.error(
          { err: error, runId: data.runId, nodeId: data.nodeId },
          'node job failed; it will be re-delivered',
        );
      }
      throw error;
    } finally {
      span.end();
      // After the span has ended, so that invoke_workflow ends no earlier than this last span of the run.
      this.#runEnds.spanEnded(span);
    }
  }

  async #run(job: NodeJobEnvelope, data: NodeJobData, span: Span, ctx: Context): Promise<NodeOutcome> {
    const { store, catalog, logger } = this.#deps;
    const startedAt = performance.now();
    const spanContext = span.spanContext();
    // The job names its run's workflow (the claim checks it): its graph says which outputs to read.
    const workflow = await catalog.get(data.workflowId);
    if (!workflow) throw new Error(`workflow ${data.workflowId} of run ${data.runId} is missing`);
    const node = workflow.node(data.nodeId);
    const claimed = await store.claim({
      runId: data.runId,
      nodeId: data.nodeId,
      traceId: spanContext.traceId,
      spanId: spanContext.spanId,
      workflowId: workflow.id,
      outputsOf: workflow.ancestorList(node.id),
    });
    if (!claimed) {
      span.setAttribute(FlowtraceAttributes.NODE_STATUS, 'not_runnable');
      return { kind: 'not_runnable' };
    }
    span.setAttribute(FlowtraceAttributes.NODE_ATTEMPT, claimed.attempt);
    if (claimed.apiKeyId) span.setAttribute(semconv.ATTR_USER_ID, claimed.apiKeyId);
    span.setAttribute(FlowtraceAttributes.NODE_TYPE, node.type);
    span.setAttribute(FlowtraceAttributes.WORKFLOW_NAME, workflow.name);
    if (claimed.lostAttempt) {
      this.#emitLostAttempt(job, data, claimed, node.type);
      await this.#markLostCalls(data, claimed.lostAttempt.attempt);
    }

    const attempt: Attempt = {
      data,
      claimed,
      workflow,
      node,
      ledger: new AttemptLedger(
        { spend: this.#deps.spend, limits: this.#deps.limits, metrics: this.#deps.metrics, logger },
        {
          tenantId: claimed.tenantId,
          runId: data.runId,
          nodeId: data.nodeId,
          attempt: claimed.attempt,
          fallback: spanContext,
        },
        {
          onModelCall: (call) =>
            this.#deps.metrics.llmCost(call.costUsd ?? 0, {
              provider: call.provider,
              model: call.requestModel,
              tenantId: claimed.tenantId,
            }),
        },
      ),
      span,
      ctx,
      logger: logger.child({
        runId: data.runId,
        nodeId: node.id,
        nodeType: node.type,
        attempt: claimed.attempt,
      }),
      queue: job.queueName,
      startedAt,
    };
    const { controller, release } = this.#deps.signals.track(data.runId);
    const heartbeat = startHeartbeat({
      store: this.#deps.store,
      ref: { runId: data.runId, nodeId: data.nodeId, attempt: claimed.attempt },
      everyMs: this.#options.heartbeatMs,
      controller,
      logger: attempt.logger,
    });
    let output: JsonValue;
    try {
      output = await executeAttempt(this.#deps.executors, attempt, controller, this.#options);
    } catch (error) {
      return await this.#recorder.failed(
        attempt,
        controller.signal.aborted ? controller.signal.reason : permanentIfTooDeep(error, node.id),
      );
    } finally {
      clearInterval(heartbeat);
      release();
    }
    // The run was stopped as the executor finished: the node ends with its run, not completed.
    if (controller.signal.aborted && controller.signal.reason instanceof RunStoppedError) {
      return await this.#recorder.failed(attempt, controller.signal.reason);
    }
    return await this.#recorder.completed(attempt, output);
  }

  /** The lost attempt's model calls stay counted; they are marked as spent by an attempt that was lost. */
  async #markLostCalls(data: NodeJobData, lostAttempt: number): Promise<void> {
    try {
      await this.#deps.spend.markAttemptLost(data.runId, data.nodeId, lostAttempt);
    } catch (error) {
      this.#deps.logger.warn(
        { err: error, runId: data.runId, nodeId: data.nodeId, lostAttempt },
        'could not mark the model calls of a lost attempt',
      );
    }
  }

  #emitLostAttempt(job: NodeJobEnvelope, data: NodeJobData, claimed: ClaimedNode, nodeType: string): void {
    const lost = claimed.lostAttempt;
    if (!lost) return;
    const parent = carrierSpanContext(data.carrier);
    this.#deps.runSpans.attemptLost({
      name: `process ${job.queueName}`,
      traceId: lost.traceId,
      spanId: lost.spanId,
      parentSpanId: parent?.spanId,
      traceFlags: claimed.run.traceFlags,
      startedAt: lost.startedAt,
      attributes: {
        ...nodeMessageAttributes('process', job.queueName, job.id, data),
        [FlowtraceAttributes.NODE_TYPE]: nodeType,
        [FlowtraceAttributes.NODE_ATTEMPT]: lost.attempt,
      },
    });
    this.#deps.logger.warn(
      { runId: data.runId, nodeId: data.nodeId, lostAttempt: lost.attempt },
      'previous attempt was lost with its worker; running again',
    );
  }
}
