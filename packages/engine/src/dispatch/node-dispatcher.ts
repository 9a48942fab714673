import { errorType, FlowtraceAttributes, injectCarrier, recordSpanError } from '@flowtrace/telemetry';
import type { NodeType } from '@flowtrace/workflow';
import {
  type Context,
  context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { InflightGate } from '../governance/inflight-gate.ts';
import type { FleetMetrics } from '../metrics/fleet-metrics.ts';
import { type NodeJobData, nodeJobId, queueNameFor } from '../queue/catalogue.ts';
import type { NodeJob, NodeQueues } from '../queue/node-queues.ts';
import type { NodeRetrySettings } from '../queue/retry-settings.ts';
import type { DispatchRecord } from '../store/finish-node.ts';
import { nodeMessageAttributes } from '../tracing/node-message-attributes.ts';

export interface NodeToDispatch {
  nodeId: string;
  type: NodeType;
  retry: NodeRetrySettings;
  /** Spans of the node's other finished predecessors, linked from its consumer span. */
  links: { traceId: string; spanId: string; traceFlags: number }[];
  /** Set when the reconciler re-enqueues a node whose job was lost. */
  redriveReason?: string;
  /** Links from the send span itself (a re-drive links to the dispatch it replaces). */
  sendLinks?: Link[];
  /** Attempts BullMQ may still make (default: the node's maximum). */
  attempts?: number;
}

export interface DispatchTarget {
  runId: string;
  workflowId: string;
  tenantId: string;
}

/** Jobs whose PRODUCER spans are open: sent after the state that made them ready has committed. */
export interface PreparedDispatch {
  readonly records: DispatchRecord[];
  readonly jobs: NodeJob[];
  readonly spans: Span[];
}

/** How long BullMQ keeps finished jobs: Postgres is the record; Redis only needs recent ones for debugging. */
const REMOVE_ON_COMPLETE = { count: 1_000 } as const;
const REMOVE_ON_FAIL = { age: 7 * 24 * 3600, count: 10_000 } as const;

/**
 * Turns ready nodes into jobs. `prepare` opens one `send <queue>` PRODUCER span per node, as a child of
 * `parent`, and injects its context into the job; `send` enqueues and ends the spans. A prepared dispatch
 * whose transaction rolls back is simply never sent, and its unended spans are never exported.
 */
export class NodeDispatcher {
  readonly #queues: NodeQueues;
  readonly #tracer: Tracer;
  readonly #metrics: FleetMetrics | undefined;
  readonly #gate: InflightGate | undefined;
  /** Jobs of this turn's sends, enqueued together. */
  readonly #pending: { jobs: readonly NodeJob[]; resolve: () => void; reject: (error: unknown) => void }[] =
    [];

  constructor(deps: {
    queues: NodeQueues;
    tracer: Tracer;
    metrics?: FleetMetrics;
    /** Holds nodes of tenants at their in-flight limit back in Postgres (fair scheduling). */
    gate?: InflightGate;
  }) {
    this.#queues = deps.queues;
    this.#tracer = deps.tracer;
    this.#metrics = deps.metrics;
    this.#gate = deps.gate;
  }

  prepare(parent: Context, target: DispatchTarget, nodes: readonly NodeToDispatch[]): PreparedDispatch {
    const prepared: PreparedDispatch = { records: [], jobs: [], spans: [] };
    for (const node of nodes) {
      const queueName = queueNameFor(node.type);
      const jobId = nodeJobId(target.runId, node.nodeId);
      const span = this.#tracer.startSpan(
        `send ${queueName}`,
        {
          kind: SpanKind.PRODUCER,
          ...(node.sendLinks ? { links: node.sendLinks } : {}),
          attributes: {
            ...nodeMessageAttributes('send', queueName, jobId, { ...target, nodeId: node.nodeId }),
            [FlowtraceAttributes.NODE_TYPE]: node.type,
            ...(node.redriveReason ? { [FlowtraceAttributes.REDRIVE_REASON]: node.redriveReason } : {}),
          },
        },
        parent,
      );
      const carrier = injectCarrier(trace.setSpan(parent, span));
      const data: NodeJobData = {
        v: 1,
        runId: target.runId,
        nodeId: node.nodeId,
        workflowId: target.workflowId,
        tenantId: target.tenantId,
        carrier,
        links: node.links,
        backoff: node.retry.backoff,
      };
      prepared.records.push({ nodeId: node.nodeId, jobId, carrier });
      prepared.jobs.push({
        type: node.type,
        data,
        opts: {
          jobId,
          attempts: node.attempts ?? node.retry.maxAttempts,
          backoff: { type: 'flowtrace' },
          removeOnComplete: REMOVE_ON_COMPLETE,
          removeOnFail: REMOVE_ON_FAIL,
        },
      });
      prepared.spans.push(span);
    }
    return prepared;
  }

  /**
   * The part of a prepared dispatch for the nodes that became ready, with their consumer links. The spans
   * of the others are left unended, so they are never exported.
   */
  select(prepared: PreparedDispatch, links: ReadonlyMap<string, NodeToDispatch['links']>): PreparedDispatch {
    const selected: PreparedDispatch = { records: [], jobs: [], spans: [] };
    prepared.jobs.forEach((job, index) => {
      const nodeLinks = links.get(job.data.nodeId);
      if (nodeLinks === undefined) return;
      selected.jobs.push({ ...job, data: { ...job.data, links: nodeLinks } });
      selected.records.push(prepared.records[index] as DispatchRecord);
      selected.spans.push(prepared.spans[index] as Span);
    });
    return selected;
  }

  /** Enqueues prepared jobs. On failure the spans record the error and the error is rethrown. */
  async send(prepared: PreparedDispatch): Promise<void> {
    if (prepared.jobs.length === 0) return;
    const perQueue = new Map<string, number>();
    for (const job of prepared.jobs)
      perQueue.set(queueNameFor(job.type), (perQueue.get(queueNameFor(job.type)) ?? 0) + 1);
    try {
      const jobs = this.#gate ? await this.#gate.admit(prepared.jobs) : prepared.jobs;
      if (jobs.length < prepared.jobs.length) this.#markHeld(prepared, jobs);
      await this.#enqueue(jobs);
      for (const [queue, count] of perQueue) this.#metrics?.jobsSent(queue, count);
    } catch (error) {
      for (const span of prepared.spans) recordSpanError(span, error);
      for (const [queue, count] of perQueue) this.#metrics?.jobsSent(queue, count, errorType(error));
      throw error;
    } finally {
      for (const span of prepared.spans) span.end();
    }
  }

  /**
   * Adds jobs together with those of every other `send` of the same turn (the outcomes of one batch commit
   * resolve together): one `addBulk` per queue for all of them. All fail together, too: each caller then
   * leaves its nodes to the reconciler, as with an enqueue of its own that failed.
   */
  #enqueue(jobs: readonly NodeJob[]): Promise<void> {
    if (jobs.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ jobs, resolve, reject });
      if (this.#pending.length > 1) return;
      setImmediate(() => {
        const pending = this.#pending.splice(0);
        // The send spans time the enqueue; the Redis commands under them (BullMQ's Lua scripts) would
        // repeat that, so they run outside any span and the ioredis instrumentation leaves them out.
        context
          .with(ROOT_CONTEXT, () => this.#queues.addAll(pending.flatMap((p) => p.jobs)))
          .then(
            () => {
              for (const p of pending) p.resolve();
            },
            (error: unknown) => {
              for (const p of pending) p.reject(error);
            },
          );
      });
    });
  }

  /** The send spans of jobs the gate held back say so; the job is enqueued when it is released. */
  #markHeld(prepared: PreparedDispatch, sent: readonly NodeJob[]): void {
    const sentIds = new Set(sent.map((job) => job.opts.jobId));
    prepared.jobs.forEach((job, index) => {
      if (!sentIds.has(job.opts.jobId))
        prepared.spans[index]?.setAttribute(FlowtraceAttributes.DISPATCH_HELD, true);
    });
  }
}

/** Span links for a join node's predecessors other than the one whose span is its parent. */
export function predecessorLinks(
  predecessors: readonly { nodeId: string; traceId: string | null; spanId: string | null }[],
  exceptNodeId: string | null,
  traceFlags: number,
): NodeToDispatch['links'] {
  return predecessors
    .filter((p) => p.nodeId !== exceptNodeId && p.traceId !== null && p.spanId !== null)
    .map((p) => ({ traceId: p.traceId as string, spanId: p.spanId as string, traceFlags }));
}
