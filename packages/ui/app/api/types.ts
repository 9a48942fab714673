/**
 * The shapes the run viewer reads: the types of `@flowtrace/client`, which are the API's own response
 * schemas (`z.infer`), so that the page cannot drift from what the server returns.
 */
import type { RunEvent as ClientRunEvent, Run, RunListItem, RunStep } from '@flowtrace/client';

export type RunDetail = Run;
export type RunStatus = Run['status'];
export type RunNode = Run['nodes'][number];
export type RunSummary = RunListItem;
export type RunEvent = ClientRunEvent;
export type AgentStep = RunStep;

export const TERMINAL_RUN_STATUSES: readonly string[] = ['completed', 'failed', 'cancelled'];

/** The runs list's filters as the page keeps them in its address. */
export interface RunFilters {
  status?: string;
  workflowName?: string;
  createdAfter?: string;
  createdBefore?: string;
}

/** An event's position in the run's commit order: the stream's `id:` and the `after` cursor. */
export function eventSeq(event: RunEvent): number {
  return event.seq;
}
