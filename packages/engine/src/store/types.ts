import type { AgentStepRecord, JsonValue, ModelCallRecord } from '@flowtrace/workflow';

/** The ids that place a run in its trace: `spanId` is its `invoke_workflow` span. */
export interface RunTraceIdentity {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  traceFlags: number;
  traceState: string | null;
}

/** A span link of a run's `invoke_workflow` span, stored with the run (a replay links to its original). */
export interface RunSpanLink {
  traceId: string;
  spanId: string;
  traceFlags: number;
  attributes?: Record<string, string>;
}

/** A run that just reached a terminal status, with what its `invoke_workflow` span needs. */
export interface FinishedRun extends RunTraceIdentity {
  runId: string;
  tenantId: string;
  workflowId: string;
  status: 'completed' | 'failed' | 'cancelled';
  error: StoredError | null;
  spanLinks: RunSpanLink[];
  createdAt: Date;
  finishedAt: Date;
}

export interface StoredError {
  code: string;
  message: string;
  nodeId?: string;
  details?: Record<string, unknown>;
}

/** A ledger record stamped with the span that was active when it was recorded. */
export interface Correlated<T> {
  record: T;
  traceId: string;
  spanId: string | null;
  /**
   * Already in its table: model calls are written as soon as they are answered (the spend ledger), so the
   * outcome's transaction only summarises them and must not write them again.
   */
  written?: boolean;
}

export interface LedgerEntries {
  modelCalls: Correlated<ModelCallRecord>[];
  agentSteps: Correlated<AgentStepRecord>[];
}

/** A successor that became ready: all its dependencies finished. */
export interface ReadyNode {
  nodeId: string;
  type: string;
  /** The trace position of each dependency's latest attempt (for span links). */
  predecessors: { nodeId: string; traceId: string | null; spanId: string | null }[];
}

export type { JsonValue };
