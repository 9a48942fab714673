import {
  type DeferredSpanEmitter,
  FlowtraceAttributes,
  semconv,
  timeInputMillis,
} from '@flowtrace/telemetry';
import { type Attributes, type HrTime, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { FleetMetrics } from '../metrics/fleet-metrics.ts';
import type { FinishedRun } from '../store/types.ts';

/**
 * Spans recorded on behalf of work that began elsewhere, with ids fixed when it began: a finished run's
 * `invoke_workflow` span (its ids were chosen by the API at submission; whichever process moves the run to
 * a terminal status records it, covering submission to terminal status), and the consumer span of an
 * attempt whose worker died before ending it.
 */
export class DeferredRunSpans {
  readonly #spans: DeferredSpanEmitter;
  readonly #metrics: FleetMetrics | undefined;

  constructor(deps: { deferredSpans: DeferredSpanEmitter; metrics?: FleetMetrics }) {
    this.#spans = deps.deferredSpans;
    this.#metrics = deps.metrics;
  }

  /**
   * Records a run that reached a terminal status: its `invoke_workflow` span and run metrics. The span ends
   * at the run's `finishedAt` (the commit that ended it) or, when the caller passes `lastSpanEnd`, the end
   * of the caller's own span if that is later: the process that finishes a run emits this after its
   * `process` span has ended, so that span (and every span under it) ends within `invoke_workflow`.
   */
  runFinished(run: FinishedRun, workflow: { name: string; version?: number }, lastSpanEnd?: HrTime): void {
    this.#metrics?.runFinished(
      {
        tenantId: run.tenantId,
        status: run.status,
        seconds: Math.max(0, run.finishedAt.getTime() - run.createdAt.getTime()) / 1000,
        errorType: run.error?.code,
      },
      workflow.name,
    );
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
          lastSpanEnd !== undefined && timeInputMillis(lastSpanEnd) > run.finishedAt.getTime()
            ? lastSpanEnd
            : run.finishedAt,
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
          [FlowtraceAttributes.WORKFLOW_RUN_ID]: run.runId,
          [FlowtraceAttributes.WORKFLOW_RUN_STATUS]: run.status,
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
