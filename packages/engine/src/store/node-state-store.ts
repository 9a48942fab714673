import { type Sql, transaction } from '@flowtrace/db';
import type { Tracer } from '@opentelemetry/api';
import { announceCommitted, type RunEventNotifier } from '../events/run-event-channel.ts';
import { withDbSpan } from '../tracing/db-span.ts';
import {
  type AttemptEnd,
  endAttemptIn,
  type FailRunInput,
  type FailRunOutcome,
  failRunIn,
  type RetryNodeInput,
} from './attempt-endings.ts';
import { type ClaimedNode, type ClaimRef, claimStatement } from './claim-node.ts';
import { type FinishNodeInput, type FinishNodeResult, finishStatement } from './finish-node.ts';
import type { NodeRef } from './node-events.ts';
import type { LedgerEntries, StoredError } from './types.ts';
import { NO_BATCHING, WriteBatcher, type WriteBatcherOptions } from './write-batcher.ts';

/**
 * The worker side of the run state machine in Postgres: claim a node, then record its outcome and, in
 * the same transaction, decide which successors are ready. Row locks make a join node ready exactly once
 * even when its predecessors finish at the same moment on different workers. The statements live beside it
 * (`claim-node.ts`, `finish-node.ts`, `attempt-endings.ts`); this class gives each its span, its batch and
 * the notice to live readers once it has committed.
 */
export class NodeStateStore {
  readonly #sql: Sql;
  readonly #tracer: Tracer;
  readonly #events: RunEventNotifier | undefined;

  /** Claims, and recorded outcomes, of concurrent jobs: each kind committed in batches. */
  readonly #claims: WriteBatcher;
  readonly #outcomes: WriteBatcher;

  /**
   * `events` is told when a write's events have committed (live readers of the run are woken). With
   * `batching`, claims and recorded outcomes of concurrent jobs are committed together (`WriteBatcher`).
   */
  constructor(deps: {
    sql: Sql;
    tracer: Tracer;
    events?: RunEventNotifier;
    batching?: WriteBatcherOptions;
  }) {
    this.#sql = deps.sql;
    this.#tracer = deps.tracer;
    this.#events = deps.events;
    const batching = deps.batching ?? NO_BATCHING;
    this.#claims = new WriteBatcher(deps, 'claim_node', batching);
    this.#outcomes = new WriteBatcher(deps, 'finish_node', batching);
  }

  /**
   * Marks the node running for a new attempt (also after a stalled delivery) and returns what executing it
   * needs, in one round trip. Null when the node is not runnable: done, cancelled, or its run is over.
   */
  claim(ref: ClaimRef): Promise<ClaimedNode | null> {
    const claim = claimStatement(this.#sql, ref);
    const claimed = withDbSpan(this.#tracer, 'claim_node', () => this.#claims.write(ref.runId, claim));
    return announceCommitted(this.#events, ref.runId, claimed, (node) => node !== null);
  }

  /**
   * Renews a running attempt's heartbeat; false when the attempt is no longer the node's current one or its
   * run has ended (cancelled, timed out, failed by another node), so that a worker that missed the stop
   * message stops the attempt.
   */
  async heartbeat(ref: { runId: string; nodeId: string; attempt: number }): Promise<boolean> {
    const rows = await this.#sql`
      update node_runs n set heartbeat_at = now()
      from runs r
      where n.run_id = ${ref.runId} and n.node_id = ${ref.nodeId} and n.attempt = ${ref.attempt}
        and n.status = 'running' and r.id = n.run_id and r.status in ('queued', 'running')
      returning n.node_id`;
    return rows.length > 0;
  }

  /** Records an attempt stopped by its run's cancellation (or timeout): the node ends `cancelled`. */
  cancelAttempt(input: NodeRef & { error: StoredError; ledger: LedgerEntries }): Promise<boolean> {
    const write = withDbSpan(this.#tracer, 'cancel_node', () =>
      transaction(this.#sql, async (tx) => (await endAttemptIn(tx, input, 'cancelled')).applied),
    );
    return announceCommitted(this.#events, input.runId, write, (applied) => applied);
  }

  /**
   * Records a finished attempt (completed, or failed for good with `continueOnFailure`), counts it towards
   * the run, completes the run when it was the last node, and marks ready successors queued.
   */
  finishNode(input: FinishNodeInput): Promise<FinishNodeResult> {
    const finish = finishStatement(this.#sql, input);
    const write = withDbSpan(this.#tracer, 'finish_node', () => this.#outcomes.write(input.runId, finish));
    return announceCommitted(this.#events, input.runId, write, (result) => result.applied);
  }

  /** Records a failed attempt that will be retried: the node goes back to queued with the error. */
  retryNode(input: RetryNodeInput): Promise<AttemptEnd> {
    const write = withDbSpan(this.#tracer, 'retry_node', () =>
      transaction(this.#sql, (tx) => endAttemptIn(tx, input, 'queued', { delayMs: input.delayMs })),
    );
    return announceCommitted(this.#events, input.runId, write, (ended) => ended.applied);
  }

  /**
   * Records a failed node that fails its run: the run ends failed and its waiting nodes are skipped; the
   * nodes still running are counted, for the caller to stop them.
   */
  failRun(input: FailRunInput): Promise<FailRunOutcome> {
    const write = withDbSpan(this.#tracer, 'fail_run', () =>
      transaction(this.#sql, (tx) => failRunIn(tx, input)),
    );
    return announceCommitted(this.#events, input.runId, write, (result) => result.applied);
  }
}
