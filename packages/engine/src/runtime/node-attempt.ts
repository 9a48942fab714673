import type { Logger } from '@flowtrace/telemetry';
import type { WorkflowNode } from '@flowtrace/workflow';
import type { Context, Span } from '@opentelemetry/api';
import type { FleetMetrics, NodeOutcomeLabel } from '../metrics/fleet-metrics.ts';
import type { NodeJobData } from '../queue/catalogue.ts';
import type { ClaimedNode } from '../store/claim-node.ts';
import type { CompiledWorkflow } from '../store/workflow-catalog.ts';
import type { AttemptLedger } from './attempt-ledger.ts';

/** A claimed node attempt, as the processor executes and records it. */
export interface Attempt {
  data: NodeJobData;
  claimed: ClaimedNode;
  workflow: CompiledWorkflow;
  node: WorkflowNode;
  ledger: AttemptLedger;
  /** The attempt's `process <queue>` CONSUMER span, and the context it is active in. */
  span: Span;
  ctx: Context;
  logger: Logger;
  queue: string;
  /** `performance.now()` when the job was picked up, for the attempt's duration metric. */
  startedAt: number;
}

/** The attempt as the state store's writes name it, stamped with its consumer span. */
export function attemptRef(attempt: Attempt) {
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

/** Counts the attempt's outcome and duration. */
export function recordAttemptMetric(
  metrics: FleetMetrics,
  attempt: Attempt,
  outcome: NodeOutcomeLabel,
  errorType?: string,
): void {
  const seconds = (performance.now() - attempt.startedAt) / 1000;
  metrics.nodeAttempt(attempt.queue, attempt.node.type, outcome, seconds, errorType);
}
