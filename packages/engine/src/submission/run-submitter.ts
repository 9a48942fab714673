import { randomUUID } from 'node:crypto';
import {
  beginRequestTrace,
  type DeferredSpanEmitter,
  type Logger,
  type TraceCarrier,
} from '@flowtrace/telemetry';
import {
  assertStorableClientJson,
  FlowtraceError,
  parseRunInput,
  parseWorkflowDefinition,
  type WorkflowDefinition,
} from '@flowtrace/workflow';
import type { Context } from '@opentelemetry/api';
import type { NodeDispatcher, PreparedDispatch } from '../dispatch/node-dispatcher.ts';
import type { RunAdmission } from '../governance/run-admission.ts';
import type { FleetMetrics } from '../metrics/fleet-metrics.ts';
import { retrySettingsFor } from '../queue/retry-settings.ts';
import type { RunRepository, RunSummary, StoredWorkflow } from '../store/run-repository.ts';
import { sha256, stableStringify } from '../store/stable-json.ts';
import type { RunTraceIdentity } from '../store/types.ts';

export interface SubmitRunRequest {
  tenantId: string;
  apiKeyId: string | null;
  /** A registered workflow version; or `workflow`, an inline definition registered on the fly. */
  workflowId?: string | undefined;
  workflow?: unknown;
  input?: unknown;
  idempotencyKey?: string | undefined;
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

/** Thrown inside run creation when the idempotency key's first run committed meanwhile; never escapes. */
class KeyTakenMeanwhile extends Error {
  readonly run: RunSummary;
  constructor(run: RunSummary) {
    super('idempotency key taken by a concurrent request');
    this.run = run;
  }
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
  readonly #admission: RunAdmission | undefined;

  constructor(deps: {
    repository: RunRepository;
    dispatcher: NodeDispatcher;
    deferredSpans: DeferredSpanEmitter;
    metrics?: FleetMetrics;
    logger: Logger;
    /** The tenant's budgets and quotas, checked before a run is stored; none when absent. */
    admission?: RunAdmission;
  }) {
    this.#repository = deps.repository;
    this.#dispatcher = deps.dispatcher;
    this.#deferredSpans = deps.deferredSpans;
    this.#metrics = deps.metrics;
    this.#logger = deps.logger;
    this.#admission = deps.admission;
  }

  /**
   * Validates a definition, including that agent tools which run another workflow's prompt name an `llm`
   * node of one of the tenant's workflows. Reads only: nothing is written.
   */
  async validateDefinition(tenantId: string, raw: unknown): Promise<WorkflowDefinition> {
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
    return definition;
  }

  /** Validates and stores a definition (a new version, or the latest one when unchanged). */
  async registerWorkflow(tenantId: string, raw: unknown) {
    return this.#repository.registerWorkflow(tenantId, await this.validateDefinition(tenantId, raw));
  }

  /**
   * Validates everything before writing anything, then stores the run (and an inline definition, in the
   * same transaction) and dispatches its roots. A request that is rejected writes nothing: an inline
   * workflow is registered only together with its run.
   */
  async submit(request: SubmitRunRequest): Promise<SubmitRunResult> {
    const input = parseRunInput(request.input);
    if (request.idempotencyKey !== undefined)
      assertStorableClientJson(request.idempotencyKey, 'idempotencyKey');
    const inline =
      request.workflowId === undefined
        ? await this.validateDefinition(request.tenantId, request.workflow)
        : undefined;
    // What an idempotent retry must repeat is the request as sent: the workflow id, or the definition as
    // written, and the input. Not the version an inline definition resolves to, which changes whenever
    // another version of its name is registered in between.
    const requestHash = sha256(
      stableStringify(
        request.workflowId === undefined
          ? { workflow: request.workflow, input }
          : { workflowId: request.workflowId, input },
      ),
    );
    if (request.idempotencyKey !== undefined) {
      const earlier = await this.#repository.findRunByIdempotencyKey(
        request.tenantId,
        request.idempotencyKey,
      );
      if (earlier) return this.#replay(earlier, requestHash, request.idempotencyKey);
    }
    let stored: StoredWorkflow | undefined;
    if (request.workflowId !== undefined) {
      stored = (await this.#repository.findWorkflow(request.tenantId, request.workflowId)) ?? undefined;
      if (!stored) throw new FlowtraceError('not_found', `workflow ${request.workflowId} does not exist`);
    }

    const createdAt = new Date();
    const runId = randomUUID();
    const { runTrace, runContext } = this.#runTrace(request.traceContext);
    const create = async (repository: RunRepository) => {
      const workflow =
        stored ??
        (await repository.registerWorkflow(request.tenantId, inline as WorkflowDefinition)).workflow;
      const prepared = this.#dispatcher.prepare(
        runContext,
        { runId, workflowId: workflow.id, tenantId: request.tenantId },
        workflow.definition.nodes
          .filter((n) => n.dependsOn.length === 0)
          .map((n) => ({ nodeId: n.id, type: n.type, retry: retrySettingsFor(n), links: [] })),
      );
      const result = await repository.createRun(
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
      // Another request with the same key committed first: undo this one's registration (rollback).
      if (!result.created) throw new KeyTakenMeanwhile(result.run);
      return { workflow, prepared };
    };

    let created: { workflow: StoredWorkflow; prepared: PreparedDispatch };
    try {
      const store = () => (stored ? create(this.#repository) : this.#repository.inTransaction(create));
      created = this.#admission ? await this.#admission.admit(request.tenantId, runId, store) : await store();
    } catch (error) {
      if (error instanceof KeyTakenMeanwhile)
        return this.#replay(error.run, requestHash, request.idempotencyKey ?? '');
      throw error;
    }
    const { workflow, prepared } = created;
    this.#metrics?.runStarted(request.tenantId, workflow.name);
    try {
      await this.#dispatcher.send(prepared);
    } catch (error) {
      // The run and its queued roots are committed; the reconciler enqueues them once Redis is back.
      this.#logger.error({ err: error, runId }, 'could not enqueue the root nodes of a new run');
    }
    return { runId, workflowId: workflow.id, traceId: runTrace.traceId, status: 'queued', created: true };
  }

  /** The earlier run of an idempotency key: returned for the same request, a conflict for another. */
  #replay(earlier: RunSummary, requestHash: string, idempotencyKey: string): SubmitRunResult {
    if (earlier.requestHash !== requestHash) {
      throw new FlowtraceError(
        'idempotency_conflict',
        `idempotency key "${idempotencyKey}" was already used for a different request (run ${earlier.id})`,
        { details: { runId: earlier.id } },
      );
    }
    return {
      runId: earlier.id,
      workflowId: earlier.workflowId,
      traceId: earlier.traceId,
      status: earlier.status,
      created: false,
    };
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
