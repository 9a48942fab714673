import type { Logger } from '@flowtrace/telemetry';
import {
  carrierSpanContext,
  extractCarrier,
  FlowtraceAttributes,
  FlowtraceEvents,
  recordSpanError,
  semconv,
  spanEndTime,
} from '@flowtrace/telemetry';
import {
  isRetryable,
  type JsonValue,
  type NodeExecutionContext,
  TransientNodeError,
  type WorkflowNode,
} from '@flowtrace/workflow';
import { type Context, context, type Span, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import type { RunStopChannel } from '../control/run-stop-channel.ts';
import type { NodeDispatcher, PreparedDispatch } from '../dispatch/node-dispatcher.ts';
import { predecessorLinks } from '../dispatch/node-dispatcher.ts';
import type { SpendLedger } from '../governance/spend-ledger.ts';
import type { TenantLimitsStore } from '../governance/tenant-limits.ts';
import type { FleetMetrics, NodeOutcomeLabel } from '../metrics/fleet-metrics.ts';
import { type NodeJobData, nodeJobSchema } from '../queue/catalogue.ts';
import { backoffDelay, retrySettingsFor } from '../queue/retry-settings.ts';
import type { ClaimedNode, FinishNodeResult, NodeStateStore } from '../store/node-state-store.ts';
import { isRejectedValueError, retryTransient } from '../store/retry-transient.ts';
import type { FinishedRun, LedgerEntries, StoredError } from '../store/types.ts';
import type { CompiledWorkflow, WorkflowCatalog } from '../store/workflow-catalog.ts';
import { nodeMessageAttributes } from '../tracing/node-message-attributes.ts';
import { startHeartbeat } from './attempt-heartbeat.ts';
import { AttemptLedger } from './attempt-ledger.ts';
import type { DeferredRunSpans } from './deferred-run-spans.ts';
import type { ExecutorRegistry } from './executor-registry.ts';
import type { RunSignals } from './run-signals.ts';
import { RunStoppedError, WorkerShutdownError } from './stop-reasons.ts';
import { assertStorableOutput, permanentIfTooDeep } from './storable-output.ts';
import { toStoredError } from './stored-error.ts';

/** A job as the processor sees it (BullMQ-independent, for tests). */
export interface NodeJobEnvelope {
  id: string;
  queueName: string;
  data: unknown;
  /** When the job became ready the first time (enqueue time plus any delay); for the queue-wait metric. */
  readyAt?: number | undefined;
}

export type NodeOutcome =
  | { kind: 'completed' }
  | { kind: 'not_runnable' }
  | { kind: 'retry'; error: StoredError; delayMs: number }
  | { kind: 'failed'; error: StoredError };

export interface NodeProcessorOptions {
  /** Per-attempt time limit for nodes that set none. */
  defaultTimeoutMs: number;
  /** Largest node output stored in Postgres (bytes of JSON). */
  maxOutputBytes: number;
  /** How often a running attempt renews its heartbeat in Postgres. */
  heartbeatMs: number;
  /**
   * Test-only failure injection: exit the process right after the transaction that made successors ready
   * commits, before they are enqueued, for the node with this id (`FLOWTRACE_FAILPOINT=exit-after-commit:<id>`).
   */
  exitAfterCommitNodeId?: string | undefined;
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

interface Attempt {
  data: NodeJobData;
  claimed: ClaimedNode;
  workflow: CompiledWorkflow;
  node: WorkflowNode;
  ledger: AttemptLedger;
  span: Span;
  ctx: Context;
  logger: Logger;
  queue: string;
  startedAt: number;
}

/**
 * Executes one node job inside a `process <queue>` CONSUMER span whose parent is the producer span from
 * the job's carrier: claim the node in Postgres, execute it (heartbeating, with a timeout and the run's
 * cancellation wired to its AbortSignal), record the outcome with its ledger rows and, in the same
 * transaction, the successors that became ready; then enqueue those, end the span and, when the run ended,
 * emit its `invoke_workflow` span.
 */
export class NodeProcessor {
  readonly #deps: NodeProcessorDeps;
  readonly #options: NodeProcessorOptions;
  /**
   * Runs an attempt finished (`run`), or whose stop ended it (`run` null), keyed by its `process` span: their
   * `invoke_workflow` is recorded (or offered) once that span has ended. `stopOthers`: the attempt failed the
   * run while other nodes of it were running, which are told to stop (with this reason) once it has ended.
   */
  readonly #finishedRuns = new WeakMap<
    Span,
    {
      run: FinishedRun | null;
      runId: string;
      workflow: { name: string; version: number };
      stopOthers?: string;
    }
  >();

  constructor(deps: NodeProcessorDeps, options: NodeProcessorOptions) {
    this.#deps = deps;
    this.#options = options;
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
      const finished = this.#finishedRuns.get(span);
      if (finished) {
        this.#finishedRuns.delete(span);
        if (finished.run && finished.stopOthers !== undefined) {
          // The run failed while other nodes ran: stopped now that this span has ended, they record the run's
          // invoke_workflow as the last of them ends (or this process does, after the grace period).
          const { runSpans } = this.#deps;
          runSpans.runEndedWhileRunning(
            finished.run,
            finished.workflow,
            this.#options.runSpanGraceMs ?? 30_000,
          );
          void this.#stopRunningNodes(finished.runId, finished.stopOthers);
          void runSpans.attemptStopped(finished.runId, finished.workflow, spanEndTime(span));
        } else if (finished.run) {
          this.#deps.runSpans.runFinished(finished.run, finished.workflow, spanEndTime(span));
        } else void this.#deps.runSpans.attemptStopped(finished.runId, finished.workflow, spanEndTime(span));
      }
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
      output = await this.#execute(attempt, controller);
    } catch (error) {
      return await this.#onFailure(
        attempt,
        controller.signal.aborted ? controller.signal.reason : permanentIfTooDeep(error, node.id),
      );
    } finally {
      clearInterval(heartbeat);
      release();
    }
    // The run was stopped as the executor finished: the node ends with its run, not completed.
    if (controller.signal.aborted && controller.signal.reason instanceof RunStoppedError) {
      return await this.#onFailure(attempt, controller.signal.reason);
    }
    let result: FinishNodeResult & { prepared: PreparedDispatch[] };
    try {
      result = await this.#finish(attempt, 'completed', output, null);
    } catch (error) {
      if (!isRejectedValueError(error)) throw error;
      return await this.#failUnstorable(attempt, error);
    }
    span.setAttribute(FlowtraceAttributes.NODE_STATUS, result.applied ? 'completed' : 'superseded');
    this.#recordAttempt(attempt, 'completed');
    attempt.logger.debug(
      { durationMs: Math.round(performance.now() - startedAt), applied: result.applied },
      'node completed',
    );
    await this.#afterCommit(attempt, result.prepared, result.finishedRun);
    return { kind: 'completed' };
  }

  /**
   * Records a finished attempt and the successors it made ready, retrying while Postgres is briefly
   * unreachable. Each try prepares its dispatches afresh: a rolled-back try's are dropped, never sent.
   */
  async #finish(
    attempt: Attempt,
    status: 'completed' | 'failed',
    output: JsonValue | null,
    error: StoredError | null,
    ledger: LedgerEntries = attempt.ledger.entries,
  ): Promise<FinishNodeResult & { prepared: PreparedDispatch[] }> {
    const { data, claimed, workflow, node } = attempt;
    // Dispatches for every successor, prepared before the write that decides which become ready.
    const all = this.#deps.dispatcher.prepare(
      attempt.ctx,
      { runId: data.runId, workflowId: workflow.id, tenantId: claimed.tenantId },
      workflow.successors(node.id).map((id) => {
        const next = workflow.node(id);
        return { nodeId: next.id, type: next.type, retry: retrySettingsFor(next), links: [] };
      }),
    );
    const result = await retryTransient(() =>
      this.#deps.store.finishNode({
        ...this.#ref(attempt),
        status,
        output,
        error,
        ledger,
        isSink: workflow.sinks.includes(node.id),
        sinks: workflow.sinks,
        dispatches: all.records,
      }),
    );
    const links = new Map(
      result.ready.map((r) => [
        r.nodeId,
        predecessorLinks(r.predecessors, data.nodeId, claimed.run.traceFlags),
      ]),
    );
    return { ...result, prepared: [this.#deps.dispatcher.select(all, links)] };
  }

  async #execute(attempt: Attempt, controller: AbortController): Promise<JsonValue> {
    const { data, claimed, workflow, node, ledger, logger } = attempt;
    const executor = this.#deps.executors.get(node.type);
    // The claim read the completed outputs of this node's ancestors only.
    const upstream: Record<string, JsonValue> = claimed.completedOutputs;

    const timeoutMs = node.timeoutMs ?? this.#options.defaultTimeoutMs;
    const timer = setTimeout(
      () =>
        controller.abort(
          new TransientNodeError('node_timeout', `node "${node.id}" did not finish within ${timeoutMs} ms`, {
            nodeId: node.id,
          }),
        ),
      timeoutMs,
    );
    try {
      const ctx: NodeExecutionContext = {
        runId: data.runId,
        tenantId: claimed.tenantId,
        workflowId: workflow.id,
        workflowName: workflow.name,
        nodeId: node.id,
        nodeType: node.type,
        attempt: claimed.attempt,
        config: node.config,
        input: claimed.input,
        upstream,
        signal: controller.signal,
        logger,
        ledger,
      };
      // An executor that ignores its signal must still not hold the attempt past its timeout.
      const aborted = new Promise<never>((_, reject) => {
        const onAbort = () => reject(controller.signal.reason);
        if (controller.signal.aborted) onAbort();
        else controller.signal.addEventListener('abort', onAbort, { once: true });
      });
      const output = await Promise.race([executor.execute(ctx), aborted]);
      assertStorableOutput(output, node.id, this.#options.maxOutputBytes);
      return output ?? null;
    } finally {
      clearTimeout(timer);
    }
  }

  async #onFailure(attempt: Attempt, error: unknown): Promise<NodeOutcome> {
    const { node, span } = attempt;
    // The worker is going away: leave the node running; its job is re-delivered to another worker.
    if (error instanceof WorkerShutdownError) {
      this.#recordAttempt(attempt, 'abandoned', 'shutdown');
      throw error;
    }
    const stored = toStoredError(error, node.id);
    recordSpanError(span, error);
    try {
      return await this.#recordFailure(attempt, error, stored);
    } catch (writeError) {
      if (!isRejectedValueError(writeError)) throw writeError;
      return await this.#failUnstorable(attempt, writeError);
    }
  }

  /** Records a failed attempt: cancelled with its run, retried, or failed for good. */
  async #recordFailure(attempt: Attempt, error: unknown, stored: StoredError): Promise<NodeOutcome> {
    const { data, claimed, ledger, span, logger } = attempt;
    const ref = this.#ref(attempt);

    if (error instanceof RunStoppedError) {
      await retryTransient(() =>
        this.#deps.store.cancelAttempt({ ...ref, error: stored, ledger: ledger.entries }),
      );
      span.setAttribute(FlowtraceAttributes.NODE_STATUS, 'cancelled');
      // The run ended while this attempt ran: its invoke_workflow may wait for this span (see RunTerminator).
      this.#finishedRuns.set(span, {
        run: null,
        runId: data.runId,
        workflow: { name: attempt.workflow.name, version: attempt.workflow.version },
      });
      this.#recordAttempt(attempt, 'cancelled', stored.code);
      logger.info({ reason: stored.code }, 'node stopped with its run');
      return { kind: 'failed', error: stored };
    }

    const retryAfterMs = (error as { retryAfterMs?: number } | null)?.retryAfterMs;
    if (isRetryable(error) && claimed.attempt < claimed.maxAttempts) {
      const delayMs = backoffDelay(data.backoff, claimed.attempt, retryAfterMs);
      const applied = await this.#deps.store.retryNode({
        ...ref,
        error: stored,
        ledger: ledger.entries,
        delayMs,
      });
      span.addEvent(FlowtraceEvents.NODE_RETRIED, {
        [FlowtraceAttributes.NODE_ATTEMPT]: claimed.attempt,
        [semconv.ATTR_ERROR_TYPE]: stored.code,
        [FlowtraceAttributes.RETRY_DELAY_MS]: delayMs,
      });
      this.#recordAttempt(attempt, 'retried', stored.code);
      logger.warn({ err: stored, applied, delayMs }, 'node attempt failed; retrying');
      return { kind: 'retry', error: stored, delayMs };
    }

    logger.error({ err: stored }, 'node failed');
    await this.#failForGood(attempt, stored, ledger.entries);
    return { kind: 'failed', error: stored };
  }

  /** Records a node that failed for good: it fails its run, unless it continues on failure. */
  async #failForGood(attempt: Attempt, stored: StoredError, ledger: LedgerEntries): Promise<void> {
    attempt.span.setAttribute(FlowtraceAttributes.NODE_STATUS, 'failed');
    this.#recordAttempt(attempt, 'failed', stored.code);
    if (attempt.node.continueOnFailure) {
      const result = await this.#finish(attempt, 'failed', null, stored, ledger);
      await this.#afterCommit(attempt, result.prepared, result.finishedRun);
    } else {
      const result = await retryTransient(() =>
        this.#deps.store.failRun({ ...this.#ref(attempt), error: stored, ledger }),
      );
      await this.#afterCommit(
        attempt,
        [],
        result.finishedRun,
        result.runningNodes > 0
          ? `stopped because node "${attempt.node.id}" failed the run (${stored.code})`
          : undefined,
      );
    }
  }

  /** Tells the workers of a failed run's running nodes to stop them (as a cancel does). */
  async #stopRunningNodes(runId: string, message: string): Promise<void> {
    try {
      await this.#deps.stops?.publish({ runId, code: 'cancelled', message });
    } catch (error) {
      this.#deps.logger.warn(
        { err: error, runId },
        'could not publish the run stop; workers will notice at their next heartbeat',
      );
    }
  }

  /**
   * Postgres refused the attempt's outcome even after it was made storable. Writing it again would fail
   * again (and a re-delivery would re-execute the node), so the node fails for good with
   * `output_not_storable`; if its ledger rows were what Postgres refused, without them.
   */
  async #failUnstorable(attempt: Attempt, cause: unknown): Promise<NodeOutcome> {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const stored: StoredError = {
      code: 'output_not_storable',
      message: `node "${attempt.node.id}": Postgres refused its outcome (${reason}); the node is not retried`,
      nodeId: attempt.node.id,
    };
    recordSpanError(attempt.span, cause);
    attempt.logger.error({ err: cause }, 'node outcome could not be stored; failing the node');
    try {
      await this.#failForGood(attempt, stored, attempt.ledger.entries);
    } catch (error) {
      if (!isRejectedValueError(error)) throw error;
      await this.#failForGood(attempt, stored, { modelCalls: [], agentSteps: [] });
    }
    return { kind: 'failed', error: stored };
  }

  #recordAttempt(attempt: Attempt, outcome: NodeOutcomeLabel, errorType?: string): void {
    const seconds = (performance.now() - attempt.startedAt) / 1000;
    this.#deps.metrics.nodeAttempt(attempt.queue, attempt.node.type, outcome, seconds, errorType);
  }

  #ref(attempt: Attempt) {
    const spanContext = attempt.span.spanContext();
    return {
      runId: attempt.data.runId,
      nodeId: attempt.data.nodeId,
      attempt: attempt.claimed.attempt,
      tenantId: attempt.claimed.tenantId,
      traceId: spanContext.traceId,
      spanId: spanContext.spanId,
    };
  }

  async #afterCommit(
    attempt: Attempt,
    prepared: PreparedDispatch[],
    finishedRun: FinishedRun | null,
    stopOthers?: string,
  ): Promise<void> {
    if (
      this.#options.exitAfterCommitNodeId === attempt.data.nodeId &&
      prepared.some((p) => p.jobs.length > 0)
    ) {
      attempt.logger.warn('failpoint exit-after-commit: exiting before enqueueing the ready successors');
      process.exit(137);
    }
    for (const batch of prepared) {
      try {
        await this.#deps.dispatcher.send(batch);
      } catch (error) {
        // The successors are queued in Postgres; the reconciler re-drives them.
        this.#deps.logger.error({ err: error }, 'could not enqueue ready successors; the reconciler will');
      }
    }
    if (finishedRun) {
      this.#finishedRuns.set(attempt.span, {
        run: finishedRun,
        runId: attempt.data.runId,
        workflow: { name: attempt.workflow.name, version: attempt.workflow.version },
        ...(stopOthers === undefined ? {} : { stopOthers }),
      });
    }
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
