import {
  type DeferredSpanEmitter,
  FlowtraceAttributes,
  semconv,
  timeInputMillis,
} from '@flowtrace/telemetry';
import { type Attributes, type HrTime, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { FleetMetrics } from '../metrics/fleet-metrics.ts';
import type { RunSpanGate } from '../store/run-span-gate.ts';
import type { FinishedRun } from '../store/types.ts';

/**
 * The OpenTelemetry SDK anchors each span's start to `Date.now()` (whole milliseconds) and times its
 * duration with the monotonic clock, so a span can be recorded up to a millisecond past the end of a span
 * that truly ended after it. `invoke_workflow` ends this much after the last span of its run, so that no
 * span under it is recorded past its end.
 */
const SPAN_CLOCK_SLACK_MS = 1;

/**
 * Spans recorded on behalf of work that began elsewhere, with ids fixed when it began: a finished run's
 * `invoke_workflow` span (its ids were chosen by the API at submission; whichever process moves the run to
 * a terminal status records it, covering submission to terminal status), and the consumer span of an
 * attempt whose worker died before ending it.
 */
export class DeferredRunSpans {
  readonly #spans: DeferredSpanEmitter;
  readonly #metrics: FleetMetrics | undefined;
  readonly #gate: RunSpanGate | undefined;

  constructor(deps: { deferredSpans: DeferredSpanEmitter; metrics?: FleetMetrics; gate?: RunSpanGate }) {
    this.#spans = deps.deferredSpans;
    this.#metrics = deps.metrics;
    this.#gate = deps.gate;
  }

  /**
   * A run ended (cancelled, timed out, or failed by one of its nodes) while some of its nodes were still
   * running: their `process` spans end after this moment, so `invoke_workflow` waits for them. The workers
   * offer to record it as their stopped attempts end (`attemptStopped`); if none has after `graceMs` (a
   * worker died, or its node finished without noticing the stop), this process records it, ending now.
   * Metrics are recorded at once. Without a gate the span is recorded at once too.
   */
  runEndedWhileRunning(
    run: FinishedRun,
    workflow: { name: string; version?: number },
    graceMs: number,
  ): void {
    const gate = this.#gate;
    if (!gate) {
      this.runFinished(run, workflow);
      return;
    }
    this.#recordMetrics(run, workflow);
    // Unreferenced: a process shutting down does not wait for it (the workers' offers still stand).
    const timer = setTimeout(() => {
      void gate
        .claim(run.runId)
        .then((claimed) => {
          if (claimed) this.#emitRun(run, workflow, new Date());
        })
        .catch(() => {
          // Telemetry never breaks execution.
        });
    }, graceMs);
    timer.unref();
  }

  /**
   * An attempt stopped by its run's end has ended (its `process` span too, at `lastSpanEnd`), or the attempt
   * that failed the run has: when no node of the run is running any more, the first process to claim it
   * records `invoke_workflow`, ending no earlier than that span, nor than the claim (the spans of the
   * attempts that settled the run ended before it).
   */
  async attemptStopped(
    runId: string,
    workflow: { name: string; version?: number },
    lastSpanEnd: HrTime | undefined,
  ): Promise<void> {
    try {
      const run = await this.#gate?.settledRun(runId);
      if (run && (await this.#gate?.claim(runId))) {
        const claimedAt = new Date();
        const later =
          lastSpanEnd === undefined || timeInputMillis(lastSpanEnd) < claimedAt.getTime()
            ? claimedAt
            : lastSpanEnd;
        this.#emitRun(run, workflow, later);
      }
    } catch {
      // Telemetry never breaks execution; the terminator's fallback records the span.
    }
  }

  /**
   * Records a run that reached a terminal status: its `invoke_workflow` span and run metrics. The span ends
   * at the run's `finishedAt` (the commit that ended it) or, when the caller passes `lastSpanEnd`, just after
   * the end of the caller's own span if that is later (`SPAN_CLOCK_SLACK_MS`): the process that finishes a
   * run emits this after its `process` span has ended, so that span (and every span under it) ends within
   * `invoke_workflow`. The run's stored `finished_at` is unchanged.
   */
  runFinished(run: FinishedRun, workflow: { name: string; version?: number }, lastSpanEnd?: HrTime): void {
    this.#recordMetrics(run, workflow);
    this.#emitRun(run, workflow, lastSpanEnd);
  }

  #recordMetrics(run: FinishedRun, workflow: { name: string }): void {
    this.#metrics?.runFinished(
      {
        tenantId: run.tenantId,
        status: run.status,
        seconds: Math.max(0, run.finishedAt.getTime() - run.createdAt.getTime()) / 1000,
        errorType: run.error?.code,
      },
      workflow.name,
    );
  }

  #emitRun(run: FinishedRun, workflow: { name: string }, lastSpanEnd: HrTime | Date | undefined): void {
    try {
      this.#spans.emit({
        name: `invoke_workflow ${workflow.name}`,
        traceId: run.traceId,
        spanId: run.spanId,
        ...(run.parentSpanId ? { parentSpanId: run.parentSpanId } : {}),
        traceFlags: run.traceFlags,
        ...(run.traceState ? { traceState: run.traceState } : {}),
        startTime: run.createdAt,
        endTime:
          lastSpanEnd === undefined
            ? run.finishedAt
            : Math.max(run.finishedAt.getTime(), timeInputMillis(lastSpanEnd) + SPAN_CLOCK_SLACK_MS),
        ...(run.spanLinks.length > 0
          ? {
              links: run.spanLinks.map((link) => ({
                context: {
                  traceId: link.traceId,
                  spanId: link.spanId,
                  traceFlags: link.traceFlags,
                  isRemote: true,
                },
                ...(link.attributes ? { attributes: link.attributes } : {}),
              })),
            }
          : {}),
        attributes: {
          [semconv.ATTR_GEN_AI_OPERATION_NAME]: semconv.GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW,
          [semconv.ATTR_GEN_AI_WORKFLOW_NAME]: workflow.name,
          [FlowtraceAttributes.WORKFLOW_ID]: run.workflowId,
          [FlowtraceAttributes.WORKFLOW_NAME]: workflow.name,
          [FlowtraceAttributes.RUN_ID]: run.runId,
          [FlowtraceAttributes.RUN_STATUS]: run.status,
          [FlowtraceAttributes.TENANT_ID]: run.tenantId,
          ...(run.error ? { [semconv.ATTR_ERROR_TYPE]: run.error.code } : {}),
        },
        ...(run.status === 'failed' && run.error
          ? {
              error: { type: run.error.code, message: run.error.message },
              status: { code: SpanStatusCode.ERROR, message: run.error.message },
            }
          : {}),
      });
    } catch {
      // Telemetry never breaks execution.
    }
  }

  /**
   * The consumer span of an attempt lost mid-flight (its worker was killed): same ids as the span the worker
   * opened, so the children it exported before dying stay attached, ending now with an error.
   */
  attemptLost(lost: {
    name: string;
    traceId: string;
    spanId: string;
    parentSpanId: string | undefined;
    traceFlags: number;
    startedAt: Date;
    attributes: Attributes;
  }): void {
    try {
      const message = 'the worker running this attempt stopped before it finished; the job was re-delivered';
      this.#spans.emit({
        name: lost.name,
        kind: SpanKind.CONSUMER,
        traceId: lost.traceId,
        spanId: lost.spanId,
        ...(lost.parentSpanId ? { parentSpanId: lost.parentSpanId } : {}),
        traceFlags: lost.traceFlags,
        startTime: lost.startedAt,
        attributes: { ...lost.attributes, [semconv.ATTR_ERROR_TYPE]: 'attempt_lost' },
        error: { type: 'attempt_lost', message },
        status: { code: SpanStatusCode.ERROR, message },
      });
    } catch {
      // Telemetry never breaks execution.
    }
  }
}
