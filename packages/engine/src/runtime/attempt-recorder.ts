import type { Logger } from '@flowtrace/telemetry';
import { FlowtraceAttributes, FlowtraceEvents, recordSpanError, semconv } from '@flowtrace/telemetry';
import { isRetryable, type JsonValue } from '@flowtrace/workflow';
import type { NodeDispatcher, PreparedDispatch } from '../dispatch/node-dispatcher.ts';
import { predecessorLinks } from '../dispatch/node-dispatcher.ts';
import type { FleetMetrics, NodeOutcomeLabel } from '../metrics/fleet-metrics.ts';
import { backoffDelay, retrySettingsFor } from '../queue/retry-settings.ts';
import type { FinishNodeResult } from '../store/finish-node.ts';
import type { AttemptOutcome } from '../store/node-events.ts';
import type { NodeStateStore } from '../store/node-state-store.ts';
import { isRejectedValueError, retryTransient } from '../store/retry-transient.ts';
import type { LedgerEntries, StoredError } from '../store/types.ts';
import { type Attempt, attemptRef, recordAttemptMetric } from './node-attempt.ts';
import type { RunEndHandoff } from './run-end-handoff.ts';
import { RunStoppedError, WorkerShutdownError } from './stop-reasons.ts';
import { toStoredError } from './stored-error.ts';

export type NodeOutcome =
  | { kind: 'completed' }
  | { kind: 'not_runnable' }
  | { kind: 'retry'; error: StoredError; delayMs: number }
  | { kind: 'failed'; error: StoredError };

/**
 * Called once an attempt's outcome has committed, before the successors it made ready (`readySuccessors`
 * jobs) are enqueued. For failure injection in tests; see the worker's `FLOWTRACE_FAILPOINT`.
 */
export type CommitHook = (attempt: { runId: string; nodeId: string }, readySuccessors: number) => void;

export interface AttemptRecorderDeps {
  store: NodeStateStore;
  dispatcher: NodeDispatcher;
  metrics: FleetMetrics;
  logger: Logger;
  runEnds: RunEndHandoff;
  onCommitted?: CommitHook | undefined;
}

/**
 * Records how an executed attempt ended, in Postgres with its ledger rows, and what follows: a completed
 * node's ready successors are enqueued; a failure is a retry (with backoff), a cancel with its run, or a
 * failure for good, which fails the run unless the node continues on failure.
 */
export class AttemptRecorder {
  readonly #deps: AttemptRecorderDeps;

  constructor(deps: AttemptRecorderDeps) {
    this.#deps = deps;
  }

  async completed(attempt: Attempt, output: JsonValue): Promise<NodeOutcome> {
    let result: FinishNodeResult & { prepared: PreparedDispatch[] };
    try {
      result = await this.#finish(attempt, 'completed', output, null);
    } catch (error) {
      if (!isRejectedValueError(error)) throw error;
      return await this.#failUnstorable(attempt, error);
    }
    attempt.span.setAttribute(FlowtraceAttributes.NODE_STATUS, result.applied ? 'completed' : 'superseded');
    this.#metric(attempt, 'completed');
    attempt.logger.debug(
      { durationMs: Math.round(performance.now() - attempt.startedAt), applied: result.applied },
      'node completed',
    );
    await this.#afterCommit(attempt, result.prepared, result);
    return { kind: 'completed' };
  }

  /** The attempt failed with `error` (or was stopped: its run ended, or the worker is shutting down). */
  async failed(attempt: Attempt, error: unknown): Promise<NodeOutcome> {
    // The worker is going away: leave the node running; its job is re-delivered to another worker.
    if (error instanceof WorkerShutdownError) {
      this.#metric(attempt, 'abandoned', 'shutdown');
      throw error;
    }
    const stored = toStoredError(error, attempt.node.id);
    recordSpanError(attempt.span, error);
    try {
      return await this.#recordFailure(attempt, error, stored);
    } catch (writeError) {
      if (!isRejectedValueError(writeError)) throw writeError;
      return await this.#failUnstorable(attempt, writeError);
    }
  }

  /**
   * Records a finished attempt and the successors it made ready, retrying while Postgres is briefly
   * unreachable. Each try prepares its dispatches afresh: a rolled-back try's are dropped, never sent.
   */
  async #finish(
    attempt: Attempt,
    status: 'completed' | 'failed',
    output: JsonValue | null,
    error: StoredError | null,
    ledger: LedgerEntries = attempt.ledger.entries,
  ): Promise<FinishNodeResult & { prepared: PreparedDispatch[] }> {
    const { data, claimed, workflow, node } = attempt;
    // Dispatches for every successor, prepared before the write that decides which become ready.
    const all = this.#deps.dispatcher.prepare(
      attempt.ctx,
      { runId: data.runId, workflowId: workflow.id, tenantId: claimed.tenantId },
      workflow.successors(node.id).map((id) => {
        const next = workflow.node(id);
        return { nodeId: next.id, type: next.type, retry: retrySettingsFor(next), links: [] };
      }),
    );
    const result = await retryTransient(() =>
      this.#deps.store.finishNode({
        ...attemptRef(attempt),
        status,
        output,
        error,
        ledger,
        isSink: workflow.sinks.includes(node.id),
        sinks: workflow.sinks,
        dispatches: all.records,
      }),
    );
    const links = new Map(
      result.ready.map((r) => [
        r.nodeId,
        predecessorLinks(r.predecessors, data.nodeId, claimed.run.traceFlags),
      ]),
    );
    return { ...result, prepared: [this.#deps.dispatcher.select(all, links)] };
  }

  /** Records a failed attempt: cancelled with its run, retried, or failed for good. */
  async #recordFailure(attempt: Attempt, error: unknown, stored: StoredError): Promise<NodeOutcome> {
    const { data, claimed, ledger, span, logger } = attempt;
    const ref = attemptRef(attempt);

    if (error instanceof RunStoppedError) {
      await retryTransient(() =>
        this.#deps.store.cancelAttempt({ ...ref, error: stored, ledger: ledger.entries }),
      );
      span.setAttribute(FlowtraceAttributes.NODE_STATUS, 'cancelled');
      this.#offerRunSpan(attempt);
      this.#metric(attempt, 'cancelled', stored.code);
      logger.info({ reason: stored.code }, 'node stopped with its run');
      return { kind: 'failed', error: stored };
    }

    const retryAfterMs = (error as { retryAfterMs?: number } | null)?.retryAfterMs;
    if (isRetryable(error) && claimed.attempt < claimed.maxAttempts) {
      const delayMs = backoffDelay(data.backoff, claimed.attempt, retryAfterMs);
      const { applied, runEnded } = await this.#deps.store.retryNode({
        ...ref,
        error: stored,
        ledger: ledger.entries,
        delayMs,
      });
      if (runEnded) this.#offerRunSpan(attempt);
      span.addEvent(FlowtraceEvents.NODE_RETRIED, {
        [FlowtraceAttributes.NODE_ATTEMPT]: claimed.attempt,
        [semconv.ATTR_ERROR_TYPE]: stored.code,
        [FlowtraceAttributes.RETRY_DELAY_MS]: delayMs,
      });
      this.#metric(attempt, 'retried', stored.code);
      logger.warn({ err: stored, applied, delayMs }, 'node attempt failed; retrying');
      return { kind: 'retry', error: stored, delayMs };
    }

    logger.error({ err: stored }, 'node failed');
    await this.#failForGood(attempt, stored, ledger.entries);
    return { kind: 'failed', error: stored };
  }

  /** Records a node that failed for good: it fails its run, unless it continues on failure. */
  async #failForGood(attempt: Attempt, stored: StoredError, ledger: LedgerEntries): Promise<void> {
    attempt.span.setAttribute(FlowtraceAttributes.NODE_STATUS, 'failed');
    this.#metric(attempt, 'failed', stored.code);
    if (attempt.node.continueOnFailure) {
      const result = await this.#finish(attempt, 'failed', null, stored, ledger);
      await this.#afterCommit(attempt, result.prepared, result);
    } else {
      const result = await retryTransient(() =>
        this.#deps.store.failRun({ ...attemptRef(attempt), error: stored, ledger }),
      );
      await this.#afterCommit(
        attempt,
        [],
        result,
        result.runningNodes > 0
          ? `stopped because node "${attempt.node.id}" failed the run (${stored.code})`
          : undefined,
      );
    }
  }

  /**
   * Postgres refused the attempt's outcome even after it was made storable. Writing it again would fail
   * again (and a re-delivery would re-execute the node), so the node fails for good with
   * `output_not_storable`; if its ledger rows were what Postgres refused, without them.
   */
  async #failUnstorable(attempt: Attempt, cause: unknown): Promise<NodeOutcome> {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const stored: StoredError = {
      code: 'output_not_storable',
      message: `node "${attempt.node.id}": Postgres refused its outcome (${reason}); the node is not retried`,
      nodeId: attempt.node.id,
    };
    recordSpanError(attempt.span, cause);
    attempt.logger.error({ err: cause }, 'node outcome could not be stored; failing the node');
    try {
      await this.#failForGood(attempt, stored, attempt.ledger.entries);
    } catch (error) {
      if (!isRejectedValueError(error)) throw error;
      await this.#failForGood(attempt, stored, { modelCalls: [], agentSteps: [] });
    }
    return { kind: 'failed', error: stored };
  }

  /**
   * Enqueues the successors a committed outcome made ready; hands a run it ended to `runEnds`, or offers to
   * record the run's span when the run had already ended (the attempt ran on without noticing its stop).
   */
  async #afterCommit(
    attempt: Attempt,
    prepared: PreparedDispatch[],
    { finishedRun, runEnded }: Pick<AttemptOutcome, 'finishedRun' | 'runEnded'>,
    stopOthers?: string,
  ): Promise<void> {
    this.#deps.onCommitted?.(
      attempt.data,
      prepared.reduce((n, p) => n + p.jobs.length, 0),
    );
    for (const batch of prepared) {
      try {
        await this.#deps.dispatcher.send(batch);
      } catch (error) {
        // The successors are queued in Postgres; the reconciler re-drives them.
        this.#deps.logger.error({ err: error }, 'could not enqueue ready successors; the reconciler will');
      }
    }
    if (finishedRun) {
      this.#deps.runEnds.runEnded(attempt.span, {
        run: finishedRun,
        runId: attempt.data.runId,
        workflow: { name: attempt.workflow.name, version: attempt.workflow.version },
        ...(stopOthers === undefined ? {} : { stopOthers }),
      });
    } else if (runEnded) this.#offerRunSpan(attempt);
  }

  /**
   * The run ended while this attempt ran: its `invoke_workflow` may be waiting for this attempt's span (see
   * `DeferredRunSpans.runEndedWhileRunning`); this process offers to record it once the span has ended.
   */
  #offerRunSpan(attempt: Attempt): void {
    this.#deps.runEnds.attemptStopped(attempt.span, attempt.data.runId, {
      name: attempt.workflow.name,
      version: attempt.workflow.version,
    });
  }

  #metric(attempt: Attempt, outcome: NodeOutcomeLabel, errorType?: string): void {
    recordAttemptMetric(this.#deps.metrics, attempt, outcome, errorType);
  }
}
