import type { Logger } from '@flowtrace/telemetry';
import { spanEndTime } from '@flowtrace/telemetry';
import type { Span } from '@opentelemetry/api';
import type { RunStopChannel } from '../control/run-stop-channel.ts';
import type { FinishedRun } from '../store/types.ts';
import type { DeferredRunSpans } from './deferred-run-spans.ts';

interface RunEnd {
  /** The run the attempt's commit ended, or null when the run's stop ended the attempt. */
  run: FinishedRun | null;
  runId: string;
  workflow: { name: string; version: number };
  /** The attempt failed the run while other nodes of it ran: they are told to stop, with this reason. */
  stopOthers?: string;
}

export interface RunEndHandoffDeps {
  runSpans: DeferredRunSpans;
  /** Tells the workers of the run's other running nodes to stop; without it they notice at their heartbeat. */
  stops?: RunStopChannel | undefined;
  logger: Logger;
}

/**
 * What happens to a run once the `process` span of the attempt that ended it (or that its stop ended) has
 * ended, so that no span of the run ends after its `invoke_workflow`: the run's span is recorded (run
 * finished), offered once the run's other running nodes have stopped (run failed while they ran), or
 * offered by this stopped attempt (see `DeferredRunSpans` and `RunSpanGate`).
 */
export class RunEndHandoff {
  readonly #deps: RunEndHandoffDeps;
  readonly #graceMs: number;
  readonly #pending = new WeakMap<Span, RunEnd>();

  /**
   * `graceMs`: when a node fails its run while other nodes of it are running, how long this process waits
   * for their workers to record the run's `invoke_workflow` before recording it itself.
   */
  constructor(deps: RunEndHandoffDeps, graceMs: number) {
    this.#deps = deps;
    this.#graceMs = graceMs;
  }

  /** The attempt of `span` ended its run (`stopOthers`: while other nodes of it were running). */
  runEnded(span: Span, end: RunEnd & { run: FinishedRun }): void {
    this.#pending.set(span, end);
  }

  /** The attempt of `span` was stopped with its run. */
  attemptStopped(span: Span, runId: string, workflow: { name: string; version: number }): void {
    this.#pending.set(span, { run: null, runId, workflow });
  }

  /** Call once `span` has ended. */
  spanEnded(span: Span): void {
    const end = this.#pending.get(span);
    if (!end) return;
    this.#pending.delete(span);
    const { runSpans } = this.#deps;
    if (end.run && end.stopOthers !== undefined) {
      // The run failed while other nodes ran: stopped now that this span has ended, they record the run's
      // invoke_workflow as the last of them ends (or this process does, after the grace period).
      runSpans.runEndedWhileRunning(end.run, end.workflow, this.#graceMs);
      void this.#stopRunningNodes(end.runId, end.stopOthers);
      void runSpans.attemptStopped(end.runId, end.workflow, spanEndTime(span));
    } else if (end.run) {
      runSpans.runFinished(end.run, end.workflow, spanEndTime(span));
    } else void runSpans.attemptStopped(end.runId, end.workflow, spanEndTime(span));
  }

  /** Tells the workers of a failed run's running nodes to stop them (as a cancel does). */
  async #stopRunningNodes(runId: string, message: string): Promise<void> {
    try {
      await this.#deps.stops?.publish({ runId, code: 'cancelled', message });
    } catch (error) {
      this.#deps.logger.warn(
        { err: error, runId },
        'could not publish the run stop; workers will notice at their next heartbeat',
      );
    }
  }
}
