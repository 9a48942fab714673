import { randomUUID } from 'node:crypto';
import {
  beginRequestTrace,
  type DeferredSpanEmitter,
  FlowtraceAttributes,
  FlowtraceLinkTypes,
  type Logger,
  type TraceCarrier,
} from '@flowtrace/telemetry';
import { FlowtraceError } from '@flowtrace/workflow';
import type { NodeDispatcher } from '../dispatch/node-dispatcher.ts';
import type { RunAdmission } from '../governance/run-admission.ts';
import type { FleetMetrics } from '../metrics/fleet-metrics.ts';
import { retrySettingsFor } from '../queue/retry-settings.ts';
import type { RunRepository } from '../store/run-repository.ts';
import { sha256, stableStringify } from '../store/stable-json.ts';
import type { RunSpanLink } from '../store/types.ts';
import { planReplay } from './replay-plan.ts';
import type { ReplayStore, ReplaySummary } from './replay-store.ts';

export interface ReplayRequest {
  tenantId: string;
  apiKeyId: string | null;
  runId: string;
  /** Nodes to execute again (with their downstream); default: the failed and cancelled ones. */
  fromNodes?: readonly string[] | undefined;
  idempotencyKey?: string | undefined;
  /** The caller's W3C headers, for a request served with the SDK off (see `beginRequestTrace`). */
  traceContext?: TraceCarrier;
}

export interface ReplayResult {
  runId: string;
  workflowId: string;
  traceId: string;
  status: string;
  replayOf: string;
  /** False when an idempotency key matched an earlier replay, which is returned instead. */
  created: boolean;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** The attribute on a replay's span links that names the run it replays. */
export const REPLAY_LINK_ATTRIBUTES = {
  [FlowtraceAttributes.LINK_TYPE]: FlowtraceLinkTypes.REPLAY_OF,
} as const;

/**
 * Replays a finished run: a new run of the same workflow version and input that takes the outputs of the
 * completed nodes upstream of the replayed ones as they are (no model or connector call) and executes the
 * rest. The replay is a run of its own, in its own trace (the request's), whose `invoke_workflow` span links
 * to the replayed run's, and whose first dispatched nodes link to the spans of the reused nodes they read.
 */
export class RunReplayer {
  readonly #store: ReplayStore;
  readonly #repository: RunRepository;
  readonly #dispatcher: NodeDispatcher;
  readonly #deferredSpans: DeferredSpanEmitter;
  readonly #metrics: FleetMetrics | undefined;
  readonly #logger: Logger;
  readonly #admission: RunAdmission | undefined;

  /** `admission`: the tenant's budgets and run quotas, checked as for any new run. */
  constructor(deps: {
    store: ReplayStore;
    repository: RunRepository;
    dispatcher: NodeDispatcher;
    deferredSpans: DeferredSpanEmitter;
    metrics?: FleetMetrics;
    logger: Logger;
    admission?: RunAdmission;
  }) {
    this.#store = deps.store;
    this.#repository = deps.repository;
    this.#dispatcher = deps.dispatcher;
    this.#deferredSpans = deps.deferredSpans;
    this.#metrics = deps.metrics;
    this.#logger = deps.logger;
    this.#admission = deps.admission;
  }

  async replay(request: ReplayRequest): Promise<ReplayResult> {
    const fromNodes = request.fromNodes ? [...new Set(request.fromNodes)].sort() : null;
    // What an idempotent retry must repeat: the run replayed and the nodes named.
    const requestHash = sha256(stableStringify({ replayOf: request.runId, fromNodes }));
    if (request.idempotencyKey !== undefined) {
      const earlier = await this.#store.findByIdempotencyKey(request.tenantId, request.idempotencyKey);
      if (earlier) return this.#earlier(earlier, requestHash, request.idempotencyKey);
    }

    const source = await this.#store.findSource(request.tenantId, request.runId);
    if (!source) throw new FlowtraceError('not_found', `run ${request.runId} does not exist`);
    if (!TERMINAL.has(source.status)) {
      throw new FlowtraceError(
        'run_not_finished',
        `run ${source.id} is ${source.status}; only a completed, failed or cancelled run can be replayed (cancel it first)`,
        { details: { status: source.status } },
      );
    }
    const workflow = await this.#repository.findWorkflow(request.tenantId, source.workflowId);
    if (!workflow) throw new FlowtraceError('not_found', `workflow ${source.workflowId} does not exist`);
    const plan = planReplay(workflow.definition, source.nodes, fromNodes ?? undefined);

    const createdAt = new Date();
    const runId = randomUUID();
    const { start, context: runContext } = beginRequestTrace(this.#deferredSpans, request.traceContext);
    const original = new Map(source.nodes.map((n) => [n.nodeId, n]));
    const prepared = this.#dispatcher.prepare(
      runContext,
      { runId, workflowId: workflow.id, tenantId: request.tenantId },
      plan.roots.map((nodeId) => {
        const node = workflow.definition.nodes.find((n) => n.id === nodeId);
        if (!node) throw new Error(`node ${nodeId} vanished from workflow ${workflow.id}`);
        // The consumer span links to the original spans of the reused nodes whose outputs it reads.
        const links = node.dependsOn.flatMap((dep) => {
          const reused = original.get(dep);
          return reused?.traceId && reused.spanId
            ? [{ traceId: reused.traceId, spanId: reused.spanId, traceFlags: source.traceFlags }]
            : [];
        });
        return { nodeId, type: node.type, retry: retrySettingsFor(node), links };
      }),
    );
    const spanLinks: RunSpanLink[] = [
      {
        traceId: source.traceId,
        spanId: source.spanId,
        traceFlags: source.traceFlags,
        attributes: { ...REPLAY_LINK_ATTRIBUTES, [FlowtraceAttributes.RUN_ID]: source.id },
      },
    ];
    const reuse = new Set(plan.reuse);
    const store = () =>
      this.#store.create(
        {
          id: runId,
          tenantId: request.tenantId,
          apiKeyId: request.apiKeyId,
          workflow,
          replayOf: source.id,
          from: plan.from,
          input: source.input,
          idempotencyKey: request.idempotencyKey ?? null,
          requestHash,
          trace: {
            traceId: start.traceId,
            spanId: start.spanId,
            parentSpanId: start.parentSpanId ?? null,
            traceFlags: start.traceFlags,
            traceState: start.traceState ?? null,
          },
          spanLinks,
          createdAt,
          deadlineAt: workflow.definition.timeoutMs
            ? new Date(createdAt.getTime() + workflow.definition.timeoutMs)
            : null,
          nodes: workflow.definition.nodes.map((n) => ({
            nodeId: n.id,
            type: n.type,
            dependsOn: n.dependsOn,
            maxAttempts: retrySettingsFor(n).maxAttempts,
            reused: reuse.has(n.id),
            remainingDeps: plan.remainingDeps.get(n.id) ?? 0,
          })),
        },
        prepared.records,
      );
    const created = this.#admission
      ? await this.#admission.admit(request.tenantId, runId, store)
      : await store();
    if (!created) {
      // The key's first replay committed after the lookup above.
      const earlier = await this.#store.findByIdempotencyKey(request.tenantId, request.idempotencyKey ?? '');
      if (!earlier) throw new Error('idempotent replay vanished while reading it');
      return this.#earlier(earlier, requestHash, request.idempotencyKey ?? '');
    }
    this.#metrics?.runStarted(request.tenantId, workflow.name);
    try {
      await this.#dispatcher.send(prepared);
    } catch (error) {
      // The replay and its queued roots are committed; the reconciler enqueues them once Redis is back.
      this.#logger.error({ err: error, runId }, 'could not enqueue the first nodes of a replay');
    }
    return {
      runId,
      workflowId: workflow.id,
      traceId: start.traceId,
      status: 'queued',
      replayOf: source.id,
      created: true,
    };
  }

  #earlier(earlier: ReplaySummary, requestHash: string, idempotencyKey: string): ReplayResult {
    if (earlier.requestHash !== requestHash || earlier.replayOf === null) {
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
      replayOf: earlier.replayOf,
      created: false,
    };
  }
}
