import { randomUUID } from 'node:crypto';
import {
  beginRequestTrace,
  type DeferredSpanEmitter,
  type Logger,
  type TraceCarrier,
} from '@flowtrace/telemetry';
import { FlowtraceError, parseRunInput, parseWorkflowDefinition } from '@flowtrace/workflow';
import type { Context } from '@opentelemetry/api';
import type { NodeDispatcher } from '../dispatch/node-dispatcher.ts';
import type { FleetMetrics } from '../metrics/fleet-metrics.ts';
import { retrySettingsFor } from '../queue/retry-settings.ts';
import type { RunRepository } from '../store/run-repository.ts';
import { sha256, stableStringify } from '../store/stable-json.ts';
import type { RunTraceIdentity } from '../store/types.ts';

export interface SubmitRunRequest {
  tenantId: string;
  apiKeyId: string | null;
  /** A registered workflow version; or `workflow`, an inline definition registered on the fly. */
  workflowId?: string;
  workflow?: unknown;
  input?: unknown;
  idempotencyKey?: string;
  /** The request's `traceparent`/`tracestate` headers: the run continues that trace, SDK on or off. */
  traceContext?: TraceCarrier;
}

export interface SubmitRunResult {
  runId: string;
  workflowId: string;
  traceId: string;
  status: string;
  /** False when an idempotency key matched an earlier run, which is returned instead. */
  created: boolean;
}

/**
 * Accepts a run: validates its input, stores the run and its nodes, and dispatches the root nodes. The
 * run's `invoke_workflow` span id is chosen here, as a child of the active (request) span, so that every
 * span the run produces anywhere descends from it.
 */
export class RunSubmitter {
  readonly #repository: RunRepository;
  readonly #dispatcher: NodeDispatcher;
  readonly #deferredSpans: DeferredSpanEmitter;
  readonly #metrics: FleetMetrics | undefined;
  readonly #logger: Logger;

  constructor(deps: {
    repository: RunRepository;
    dispatcher: NodeDispatcher;
    deferredSpans: DeferredSpanEmitter;
    metrics?: FleetMetrics;
    logger: Logger;
  }) {
    this.#repository = deps.repository;
    this.#dispatcher = deps.dispatcher;
    this.#deferredSpans = deps.deferredSpans;
    this.#metrics = deps.metrics;
    this.#logger = deps.logger;
  }

  async resolveWorkflow(tenantId: string, request: Pick<SubmitRunRequest, 'workflowId' | 'workflow'>) {
    if (request.workflowId !== undefined) {
      const workflow = await this.#repository.findWorkflow(tenantId, request.workflowId);
      if (!workflow) throw new FlowtraceError('not_found', `workflow ${request.workflowId} does not exist`);
      return workflow;
    }
    return (await this.registerWorkflow(tenantId, request.workflow)).workflow;
  }

  /**
   * Validates and stores a definition (a new version, or the latest one when unchanged). Agent tools that
   * run another workflow's prompt must name an `llm` node of one of the tenant's workflows.
   */
  async registerWorkflow(tenantId: string, raw: unknown) {
    const definition = parseWorkflowDefinition(raw);
    for (const node of definition.nodes) {
      if (node.type !== 'agent') continue;
      for (const tool of node.config.tools) {
        if (tool.type !== 'llm' || tool.workflowId === undefined) continue;
        const target = await this.#repository.findWorkflow(tenantId, tool.workflowId);
        const targetNode = target?.definition.nodes.find((n) => n.id === tool.nodeId);
        if (targetNode?.type !== 'llm') {
          throw new FlowtraceError(
            'unknown_workflow_reference',
            `node "${node.id}": tool "${tool.name}" refers to node "${tool.nodeId}" of workflow ${tool.workflowId}, ` +
              (target ? `which has no llm node "${tool.nodeId}"` : 'which does not exist'),
            { nodeId: node.id },
          );
        }
      }
    }
    return this.#repository.registerWorkflow(tenantId, definition);
  }

  async submit(request: SubmitRunRequest): Promise<SubmitRunResult> {
    const input = parseRunInput(request.input);
    const workflow = await this.resolveWorkflow(request.tenantId, request);
    const createdAt = new Date();
    const runId = randomUUID();
    const { runTrace, runContext } = this.#runTrace(request.traceContext);

    const prepared = this.#dispatcher.prepare(
      runContext,
      { runId, workflowId: workflow.id, tenantId: request.tenantId },
      workflow.definition.nodes
        .filter((n) => n.dependsOn.length === 0)
        .map((n) => ({ nodeId: n.id, type: n.type, retry: retrySettingsFor(n), links: [] })),
    );
    // What an idempotent retry must repeat: a key reused for a different request is a conflict.
    const requestHash = sha256(stableStringify({ workflowId: workflow.id, input }));
    const result = await this.#repository.createRun(
      {
        id: runId,
        tenantId: request.tenantId,
        apiKeyId: request.apiKeyId,
        workflow,
        input,
        idempotencyKey: request.idempotencyKey ?? null,
        requestHash,
        trace: runTrace,
        createdAt,
        deadlineAt: workflow.definition.timeoutMs
          ? new Date(createdAt.getTime() + workflow.definition.timeoutMs)
          : null,
        nodes: workflow.definition.nodes.map((n) => ({
          nodeId: n.id,
          type: n.type,
          dependsOn: n.dependsOn,
          maxAttempts: retrySettingsFor(n).maxAttempts,
        })),
      },
      prepared.records,
    );

    if (!result.created) {
      if (result.run.requestHash !== requestHash) {
        throw new FlowtraceError(
          'idempotency_conflict',
          `idempotency key "${request.idempotencyKey}" was already used for a different request (run ${result.run.id})`,
          { details: { runId: result.run.id } },
        );
      }
      return {
        runId: result.run.id,
        workflowId: workflow.id,
        traceId: result.run.traceId,
        status: result.run.status,
        created: false,
      };
    }
    this.#metrics?.runStarted(request.tenantId, workflow.name);
    try {
      await this.#dispatcher.send(prepared);
    } catch (error) {
      // The run and its queued roots are committed; the reconciler enqueues them once Redis is back.
      this.#logger.error({ err: error, runId }, 'could not enqueue the root nodes of a new run');
    }
    return { runId, workflowId: workflow.id, traceId: runTrace.traceId, status: 'queued', created: true };
  }

  /**
   * Places the run in the caller's trace (under the active span, or with the SDK off under the caller's
   * `traceparent`), or in a fresh trace; the context carries its flags and `tracestate` to every dispatch.
   */
  #runTrace(caller: TraceCarrier | undefined): { runTrace: RunTraceIdentity; runContext: Context } {
    const { start, context: runContext } = beginRequestTrace(this.#deferredSpans, caller);
    return {
      runTrace: {
        traceId: start.traceId,
        spanId: start.spanId,
        parentSpanId: start.parentSpanId ?? null,
        traceFlags: start.traceFlags,
        traceState: start.traceState ?? null,
      },
      runContext,
    };
  }
}
