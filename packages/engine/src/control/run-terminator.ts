import type { Logger } from '@flowtrace/telemetry';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { DeferredRunSpans } from '../runtime/deferred-run-spans.ts';
import type { RunControlStore, TerminateResult } from '../store/run-control-store.ts';
import type { FinishedRun } from '../store/types.ts';
import type { WorkflowCatalog } from '../store/workflow-catalog.ts';
import type { RunStopChannel } from './run-stop-channel.ts';

/**
 * Ends runs from outside their workers: cancellation (API) and run timeouts (reconciler). Queued nodes
 * never start; running ones are told to stop; the run's `invoke_workflow` span is emitted with its status.
 */
export class RunTerminator {
  readonly #store: RunControlStore;
  readonly #catalog: WorkflowCatalog;
  readonly #runSpans: DeferredRunSpans;
  readonly #stops: RunStopChannel;
  readonly #logger: Logger;
  readonly #spanGraceMs: number;

  constructor(deps: {
    store: RunControlStore;
    catalog: WorkflowCatalog;
    runSpans: DeferredRunSpans;
    stops: RunStopChannel;
    logger: Logger;
    /**
     * How long the run's `invoke_workflow` waits for the workers of its running nodes to record it (after
     * their stopped attempts end) before this process records it. Default 30 s.
     */
    spanGraceMs?: number;
  }) {
    this.#store = deps.store;
    this.#catalog = deps.catalog;
    this.#runSpans = deps.runSpans;
    this.#stops = deps.stops;
    this.#logger = deps.logger;
    this.#spanGraceMs = deps.spanGraceMs ?? 30_000;
  }

  cancel(tenantId: string, runId: string): Promise<TerminateResult> {
    return this.#terminate(runId, {
      tenantId,
      status: 'cancelled',
      event: 'run.cancelled',
      code: 'cancelled',
      message: 'the run was cancelled',
    });
  }

  timeOut(runId: string, deadlineAt: Date): Promise<TerminateResult> {
    return this.#terminate(runId, {
      status: 'failed',
      event: 'run.failed',
      code: 'run_timeout',
      message: `the run did not finish by its deadline (${deadlineAt.toISOString()})`,
    });
  }

  /**
   * A run failed by one of its nodes from outside its workers (the reconciler failing a node it gave up on)
   * while other nodes ran: they are told to stop, as on cancel, and the last of them records the run's
   * `invoke_workflow` (this process after the grace period otherwise).
   */
  async stopRunningNodes(run: FinishedRun, workflow: { name: string }, message: string): Promise<void> {
    await this.#publishStop(run.runId, 'cancelled', message);
    this.#runSpans.runEndedWhileRunning(run, workflow, this.#spanGraceMs);
  }

  async #publishStop(runId: string, code: 'cancelled' | 'run_timeout', message?: string): Promise<void> {
    try {
      await this.#stops.publish({ runId, code, message });
    } catch (error) {
      // Workers still notice at their next heartbeat.
      this.#logger.warn(
        { err: error, runId },
        'could not publish the run stop; workers will notice at their next heartbeat',
      );
    }
  }

  async #terminate(
    runId: string,
    how: {
      tenantId?: string;
      status: 'cancelled' | 'failed';
      event: 'run.cancelled' | 'run.failed';
      code: 'cancelled' | 'run_timeout';
      message: string;
    },
  ): Promise<TerminateResult> {
    const active = trace.getActiveSpan()?.spanContext();
    const result = await this.#store.terminate({
      runId,
      tenantId: how.tenantId,
      status: how.status,
      event: how.event,
      error: { code: how.code, message: how.message },
      ...(active && isSpanContextValid(active)
        ? { spanIds: { traceId: active.traceId, spanId: active.spanId } }
        : {}),
    });
    if (result.outcome !== 'terminated') return result;
    if (result.runningNodes > 0) await this.#publishStop(runId, how.code);
    const workflow = await this.#catalog.get(result.run.workflowId);
    const name = { name: workflow?.name ?? 'unknown' };
    // Running nodes end after this commit: their workers record invoke_workflow once the last has ended.
    if (result.runningNodes > 0) this.#runSpans.runEndedWhileRunning(result.run, name, this.#spanGraceMs);
    else this.#runSpans.runFinished(result.run, name);
    return result;
  }
}
