import type { FinishedRun, RunSpanLink, StoredError } from './types.ts';

/** Columns a terminal-status UPDATE returns so that the run's `invoke_workflow` span can be emitted. */
export interface FinishedRunRow {
  id: string;
  tenant_id: string;
  workflow_id: string;
  status: 'completed' | 'failed' | 'cancelled';
  error: StoredError | null;
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  trace_flags: number;
  trace_state: string | null;
  span_links: RunSpanLink[] | null;
  created_at: Date;
  finished_at: Date;
}

export function toFinishedRun(row: FinishedRunRow): FinishedRun {
  return {
    runId: row.id,
    tenantId: row.tenant_id,
    workflowId: row.workflow_id,
    status: row.status,
    error: row.error,
    traceId: row.trace_id,
    spanId: row.span_id,
    parentSpanId: row.parent_span_id,
    traceFlags: row.trace_flags,
    traceState: row.trace_state,
    spanLinks: row.span_links ?? [],
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

export const FINISHED_RUN_COLUMNS = [
  'id',
  'tenant_id',
  'workflow_id',
  'status',
  'error',
  'trace_id',
  'span_id',
  'parent_span_id',
  'trace_flags',
  'trace_state',
  'span_links',
  'created_at',
  'finished_at',
] as const;
