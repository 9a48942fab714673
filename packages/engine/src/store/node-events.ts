import type { EventRow } from './ledger-rows.ts';
import { sanitizedEvent, toStorableOutcome } from './storable-outcome.ts';
import type { FinishedRun, LedgerEntries, StoredError } from './types.ts';

/** The node attempt a write records, as stamped on its rows and events. */
export interface NodeRef {
  runId: string;
  nodeId: string;
  attempt: number;
  tenantId: string;
  /** The span of this attempt (the consumer span), stamped on rows. */
  traceId: string;
  spanId: string | null;
  /**
   * The status the node must still have for the write to apply (with `attempt`): `running` for a worker
   * recording its attempt; `queued` when the reconciler gives up on a node waiting for a job.
   */
  fromStatus?: 'running' | 'queued';
}

export interface AttemptOutcome {
  /** False when the attempt was superseded (another attempt or a cancel got there first). */
  applied: boolean;
  finishedRun: FinishedRun | null;
  /**
   * The run had already ended when this outcome was written (applied): the attempt ran on without noticing
   * its run's stop, so its worker offers to record the run's `invoke_workflow` as a stopped attempt would.
   */
  runEnded: boolean;
}

/** Whether a run status is a terminal one. */
export const isEndedRunStatus = (status: string | null | undefined): boolean =>
  status !== undefined && status !== null && status !== 'queued' && status !== 'running';

/** The attempt with its error and ledger made storable, and the event reporting any repair. */
export function storableAttempt<T extends NodeRef & { error: StoredError; ledger: LedgerEntries }>(
  input: T,
): { attempt: T; events: EventRow[] } {
  const storable = toStorableOutcome({ output: null, error: input.error, ledger: input.ledger });
  return {
    attempt: { ...input, error: storable.error as StoredError, ledger: storable.ledger },
    events: sanitizedEvent(eventRef(input), storable.sanitized),
  };
}

/** The attempt's identity as an event row carries it. */
export function eventRef(ref: NodeRef): Omit<EventRow, 'type' | 'message' | 'data'> {
  return {
    runId: ref.runId,
    tenantId: ref.tenantId,
    nodeId: ref.nodeId,
    attempt: ref.attempt,
    traceId: ref.traceId,
    spanId: ref.spanId,
  };
}

/** An event row of the attempt (or, with null node and attempt, of its run); its message is the error's. */
export function nodeEvent(
  ref: Omit<NodeRef, 'nodeId' | 'attempt'> & { nodeId: string | null; attempt: number | null },
  type: string,
  error: StoredError | null,
  data?: unknown,
): EventRow {
  return {
    runId: ref.runId,
    tenantId: ref.tenantId,
    nodeId: ref.nodeId,
    attempt: ref.attempt,
    type,
    ...(error ? { message: error.message } : {}),
    ...(data !== undefined ? { data } : error ? { data: { error } } : {}),
    traceId: ref.traceId,
    spanId: ref.spanId,
  };
}
