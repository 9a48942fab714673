import type { Logger } from '@flowtrace/telemetry';
import { extractCarrier, FlowtraceAttributes, recordSpanError, semconv } from '@flowtrace/telemetry';
import {
  FlowtraceError,
  isFlowtraceError,
  isRetryable,
  type JsonValue,
  jsonByteLength,
  type NodeExecutionContext,
  TransientNodeError,
  type WorkflowNode,
} from '@flowtrace/workflow';
import { type Context, context, type Span, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import { type NodeDispatcher, type NodeToDispatch, predecessorLinks } from '../dispatch/node-dispatcher.ts';
import { type NodeJobData, nodeJobSchema } from '../queue/catalogue.ts';
import { backoffDelay, retrySettingsFor } from '../queue/retry-settings.ts';
import type { ClaimedNode, NodeStateStore } from '../store/node-state-store.ts';
import type { FinishedRun, ReadyNode, StoredError } from '../store/types.ts';
import type { CompiledWorkflow, WorkflowCatalog } from '../store/workflow-catalog.ts';
import { BufferedLedger } from './buffered-ledger.ts';
import type { ExecutorRegistry } from './executor-registry.ts';
import type { RunFinalizer } from './run-finalizer.ts';
import type { RunSignals } from './run-signals.ts';

/** A job as the processor sees it (BullMQ-independent, for tests). */
export interface NodeJobEnvelope {
  id: string;
  queueName: string;
  data: unknown;
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
}

export interface NodeProcessorDeps {
  store: NodeStateStore;
  catalog: WorkflowCatalog;
  executors: ExecutorRegistry;
  dispatcher: NodeDispatcher;
  finalizer: RunFinalizer;
  signals: RunSignals;
  tracer: Tracer;
  logger: Logger;
}

/**
 * Executes one node job inside a `process <queue>` CONSUMER span whose parent is the producer span from
 * the job's carrier: claim the node in Postgres, execute it, record the outcome with its ledger rows and,
 * in the same transaction, the successors that became ready; then enqueue those and, when the run ended,
 * emit its `invoke_workflow` span.
 */
export class NodeProcessor {
  readonly #deps: NodeProcessorDeps;
  readonly #options: NodeProcessorOptions;

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
    const parent = extractCarrier(data.carrier);
    const span = this.#deps.tracer.startSpan(
      `process ${job.queueName}`,
      {
        kind: SpanKind.CONSUMER,
        links: data.links.map((link) => ({ context: { ...link, isRemote: true } })),
        attributes: {
          [semconv.ATTR_MESSAGING_SYSTEM]: semconv.MESSAGING_SYSTEM_VALUE_BULLMQ,
          [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'process',
          [semconv.ATTR_MESSAGING_OPERATION_TYPE]: semconv.MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
          [semconv.ATTR_MESSAGING_DESTINATION_NAME]: job.queueName,
          [semconv.ATTR_MESSAGING_CONSUMER_GROUP_NAME]: job.queueName,
          [semconv.ATTR_MESSAGING_MESSAGE_ID]: job.id,
          [FlowtraceAttributes.WORKFLOW_ID]: data.workflowId,
          [FlowtraceAttributes.WORKFLOW_RUN_ID]: data.runId,
          [FlowtraceAttributes.NODE_ID]: data.nodeId,
          [FlowtraceAttributes.TENANT_ID]: data.tenantId,
        },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    try {
      return await context.with(ctx, () => this.#run(data, span, ctx));
    } catch (error) {
      // Infrastructure failures (Postgres, Redis): BullMQ retries the job; the node state is unchanged.
      recordSpanError(span, error);
      this.#deps.logger.error(
        { err: error, runId: data.runId, nodeId: data.nodeId },
        'node job failed; BullMQ will retry it',
      );
      throw error;
    } finally {
      span.end();
    }
  }

  async #run(data: NodeJobData, span: Span, ctx: Context): Promise<NodeOutcome> {
    const { store, catalog, logger } = this.#deps;
    const spanContext = span.spanContext();
    const claimed = await store.claim({
      runId: data.runId,
      nodeId: data.nodeId,
      traceId: spanContext.traceId,
      spanId: spanContext.spanId,
    });
    if (!claimed) {
      span.setAttribute(FlowtraceAttributes.NODE_STATUS, 'not_runnable');
      return { kind: 'not_runnable' };
    }
    span.setAttribute(FlowtraceAttributes.ATTEMPT, claimed.attempt);
    if (claimed.apiKeyId) span.setAttribute(semconv.ATTR_USER_ID, claimed.apiKeyId);
    const workflow = await catalog.get(claimed.workflowId);
    if (!workflow) throw new Error(`workflow ${claimed.workflowId} of run ${data.runId} is missing`);
    const node = workflow.node(data.nodeId);
    span.setAttribute(FlowtraceAttributes.NODE_TYPE, node.type);
    span.setAttribute(FlowtraceAttributes.WORKFLOW_NAME, workflow.name);
    const nodeLogger = logger.child({
      runId: data.runId,
      nodeId: node.id,
      nodeType: node.type,
      attempt: claimed.attempt,
    });

    const ledger = new BufferedLedger(spanContext);
    let output: JsonValue;
    try {
      output = await this.#execute(data, claimed, workflow, node, ledger, nodeLogger);
    } catch (error) {
      return this.#onFailure({ data, claimed, workflow, node, ledger, error, span, ctx, logger: nodeLogger });
    }
    const ref = this.#ref(data, claimed, span);
    const prepared: ReturnType<NodeDispatcher['prepare']>[] = [];
    const result = await store.finishNode({
      ...ref,
      status: 'completed',
      output,
      error: null,
      ledger: ledger.entries,
      successors: workflow.successors(node.id),
      sinks: workflow.sinks,
      dispatch: (ready) => this.#prepare(ctx, data, claimed, workflow, ready, prepared),
    });
    span.setAttribute(FlowtraceAttributes.NODE_STATUS, result.applied ? 'completed' : 'superseded');
    await this.#afterCommit(prepared, result.finishedRun, workflow);
    return { kind: 'completed' };
  }

  async #execute(
    data: NodeJobData,
    claimed: ClaimedNode,
    workflow: CompiledWorkflow,
    node: WorkflowNode,
    ledger: BufferedLedger,
    logger: Logger,
  ): Promise<JsonValue> {
    const executor = this.#deps.executors.get(node.type);
    const ancestors = workflow.ancestors(node.id);
    const upstream: Record<string, JsonValue> = {};
    for (const [id, value] of Object.entries(claimed.completedOutputs))
      if (ancestors.has(id)) upstream[id] = value;

    const timeoutMs = node.timeoutMs ?? this.#options.defaultTimeoutMs;
    const { controller, release } = this.#deps.signals.track(data.runId);
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
      const size = jsonByteLength(output);
      if (size > this.#options.maxOutputBytes) {
        throw new FlowtraceError(
          'node_failed',
          `node "${node.id}" produced ${size} bytes of output; the limit is ${this.#options.maxOutputBytes}`,
          { nodeId: node.id },
        );
      }
      return output ?? null;
    } finally {
      clearTimeout(timer);
      release();
    }
  }

  async #onFailure(args: {
    data: NodeJobData;
    claimed: ClaimedNode;
    workflow: CompiledWorkflow;
    node: WorkflowNode;
    ledger: BufferedLedger;
    error: unknown;
    span: Span;
    ctx: Context;
    logger: Logger;
  }): Promise<NodeOutcome> {
    const { data, claimed, workflow, node, ledger, error, span, ctx, logger } = args;
    const stored = toStoredError(error, node.id);
    recordSpanError(span, error);
    const ref = this.#ref(data, claimed, span);
    const retryAfterMs = (error as { retryAfterMs?: number } | null)?.retryAfterMs;

    if (isRetryable(error) && claimed.attempt < claimed.maxAttempts) {
      const delayMs = backoffDelay(data.backoff, claimed.attempt, retryAfterMs);
      const applied = await this.#deps.store.retryNode({
        ...ref,
        error: stored,
        ledger: ledger.entries,
        delayMs,
      });
      span.addEvent('node.retried', {
        [FlowtraceAttributes.ATTEMPT]: claimed.attempt,
        [semconv.ATTR_ERROR_TYPE]: stored.code,
        'retry.delay_ms': delayMs,
      });
      logger.warn({ err: stored, applied }, 'node attempt failed; retrying');
      return { kind: 'retry', error: stored, delayMs };
    }

    logger.error({ err: stored }, 'node failed');
    span.setAttribute(FlowtraceAttributes.NODE_STATUS, 'failed');
    if (node.continueOnFailure) {
      const prepared: ReturnType<NodeDispatcher['prepare']>[] = [];
      const result = await this.#deps.store.finishNode({
        ...ref,
        status: 'failed',
        output: null,
        error: stored,
        ledger: ledger.entries,
        successors: workflow.successors(node.id),
        sinks: workflow.sinks,
        dispatch: (ready) => this.#prepare(ctx, data, claimed, workflow, ready, prepared),
      });
      await this.#afterCommit(prepared, result.finishedRun, workflow);
    } else {
      const result = await this.#deps.store.failRun({ ...ref, error: stored, ledger: ledger.entries });
      await this.#afterCommit([], result.finishedRun, workflow);
    }
    return { kind: 'failed', error: stored };
  }

  #ref(data: NodeJobData, claimed: ClaimedNode, span: Span) {
    const spanContext = span.spanContext();
    return {
      runId: data.runId,
      nodeId: data.nodeId,
      attempt: claimed.attempt,
      tenantId: claimed.tenantId,
      traceId: spanContext.traceId,
      spanId: spanContext.spanId,
    };
  }

  #prepare(
    ctx: Context,
    data: NodeJobData,
    claimed: ClaimedNode,
    workflow: CompiledWorkflow,
    ready: ReadyNode[],
    sink: ReturnType<NodeDispatcher['prepare']>[],
  ) {
    const nodes: NodeToDispatch[] = ready.map((r) => {
      const next = workflow.node(r.nodeId);
      return {
        nodeId: next.id,
        type: next.type,
        retry: retrySettingsFor(next),
        links: predecessorLinks(r.predecessors, data.nodeId, claimed.run.traceFlags),
      };
    });
    const prepared = this.#deps.dispatcher.prepare(
      ctx,
      { runId: data.runId, workflowId: workflow.id, tenantId: claimed.tenantId },
      nodes,
    );
    sink.push(prepared);
    return prepared.records;
  }

  async #afterCommit(
    prepared: ReturnType<NodeDispatcher['prepare']>[],
    finishedRun: FinishedRun | null,
    workflow: CompiledWorkflow,
  ): Promise<void> {
    for (const batch of prepared) {
      try {
        await this.#deps.dispatcher.send(batch);
      } catch (error) {
        // The successors are queued in Postgres; the reconciler re-drives them.
        this.#deps.logger.error({ err: error }, 'could not enqueue ready successors');
      }
    }
    if (finishedRun)
      this.#deps.finalizer.finished(finishedRun, { name: workflow.name, version: workflow.version });
  }
}

/** The JSON stored on a failed node or run: our error code and message, never a stack. */
export function toStoredError(error: unknown, nodeId: string): StoredError {
  if (isFlowtraceError(error)) {
    return {
      code: error.code,
      message: error.message,
      nodeId,
      ...(error.details ? { details: error.details } : {}),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'node_failed', message, nodeId };
}
