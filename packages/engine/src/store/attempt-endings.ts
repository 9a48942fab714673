import type { Transaction } from '@flowtrace/db';
import { attemptUsage } from '../events/attempt-usage.ts';
import { FINISHED_RUN_COLUMNS, type FinishedRunRow, toFinishedRun } from './finished-run.ts';
import { type EventRow, insertEvents, insertLedgerRows, lockRunForEvents } from './ledger-rows.ts';
import {
  type AttemptOutcome,
  isEndedRunStatus,
  type NodeRef,
  nodeEvent,
  storableAttempt,
} from './node-events.ts';
import type { FinishedRun, LedgerEntries, StoredError } from './types.ts';

export interface FailRunOutcome extends AttemptOutcome {
  /** Other nodes of the run still running when it failed: their workers are to be told to stop. */
  runningNodes: number;
}

export interface FailRunInput extends NodeRef {
  error: StoredError;
  ledger: LedgerEntries;
}

export interface RetryNodeInput extends NodeRef {
  error: StoredError;
  ledger: LedgerEntries;
  delayMs: number;
}

/** How `endRunningAttempt` went: whether it applied, and whether the run had already ended. */
export type AttemptEnd = Pick<AttemptOutcome, 'applied' | 'runEnded'>;

/**
 * Ends a failed attempt that does not fail its run, in `tx`: `queued` again for a retry (`node.retried`)
 * or `cancelled` with its run (`node.cancelled`). Not applied when the attempt is no longer running.
 */
export async function endAttemptIn(
  tx: Transaction,
  input: NodeRef & { error: StoredError; ledger: LedgerEntries },
  status: 'queued' | 'cancelled',
  eventData: Record<string, unknown> = {},
): Promise<AttemptEnd> {
  const { attempt, events } = storableAttempt(input);
  const ended = await endRunningAttempt(tx, attempt, status);
  if (!ended.applied) return ended;
  await insertEvents(tx, [
    ...events,
    nodeEvent(input, status === 'queued' ? 'node.retried' : 'node.cancelled', attempt.error, {
      ...eventData,
      error: attempt.error,
      usage: attemptUsage(attempt.ledger),
    }),
  ]);
  return ended;
}

/**
 * Records, in `tx`, a failed node that fails its run: the run ends failed and its waiting nodes are
 * skipped; the nodes still running are counted, for the caller to stop them.
 */
export async function failRunIn(tx: Transaction, input: FailRunInput): Promise<FailRunOutcome> {
  const { attempt, events: sanitized } = storableAttempt(input);
  const ended = await endRunningAttempt(tx, attempt, 'failed');
  if (!ended.applied) return { ...ended, finishedRun: null, runningNodes: 0 };
  const events: EventRow[] = [
    ...sanitized,
    nodeEvent(input, 'node.failed', attempt.error, {
      error: attempt.error,
      usage: attemptUsage(attempt.ledger),
    }),
  ];
  const runError: StoredError = {
    code: attempt.error.code,
    message: `node "${input.nodeId}" failed: ${attempt.error.message}`,
    nodeId: input.nodeId,
  };
  const [run] = await tx`
    update runs set status = 'failed', error = ${tx.json(runError as never)}, finished_at = now()
    where id = ${input.runId} and status in ('queued', 'running')
    returning ${tx(FINISHED_RUN_COLUMNS)}`;
  let finishedRun: FinishedRun | null = null;
  let runningNodes = 0;
  if (run) {
    const skipped = await tx`
      update node_runs set status = 'skipped', finished_at = now()
      where run_id = ${input.runId} and status in ('pending', 'queued')
      returning node_id`;
    const [running] = await tx`
      select count(*)::int as n from node_runs where run_id = ${input.runId} and status = 'running'`;
    runningNodes = running?.n ?? 0;
    finishedRun = toFinishedRun(run as unknown as FinishedRunRow);
    events.push(
      nodeEvent({ ...input, nodeId: null, attempt: null }, 'run.failed', runError, {
        error: runError,
        skippedNodes: skipped.map((n) => n.node_id as string).sort(),
      }),
    );
  }
  await insertEvents(tx, events);
  return { applied: true, runEnded: ended.runEnded, finishedRun, runningNodes };
}

/**
 * Ends the running attempt `input.attempt` with `status` and `input.error` (`queued`: back in the queue
 * for a retry, stamped `queued_at`; otherwise finished) and writes its ledger rows. False when the attempt
 * is no longer running (a stale delivery or a newer attempt), in which case nothing is written. Says whether
 * the run had already ended. Locks the
 * run's row first, the lock order of every writer of a run's events.
 */
async function endRunningAttempt(
  tx: Transaction,
  input: NodeRef & { error: StoredError; ledger: LedgerEntries },
  status: 'queued' | 'cancelled' | 'failed',
): Promise<AttemptEnd> {
  const stamp = status === 'queued' ? tx`queued_at = now()` : tx`finished_at = now()`;
  const runStatus = await lockRunForEvents(tx, input.runId);
  const updated = await tx`
    update node_runs set status = ${status}, error = ${tx.json(input.error as never)}, ${stamp}
    where run_id = ${input.runId} and node_id = ${input.nodeId}
      and status = ${input.fromStatus ?? 'running'} and attempt = ${input.attempt}
    returning node_id`;
  if (updated.length === 0) return { applied: false, runEnded: false };
  await insertLedgerRows(tx, input, input.ledger);
  return { applied: true, runEnded: isEndedRunStatus(runStatus) };
}
