import { type DeferredSpanEmitter, FlowtraceAttributes, semconv } from '@flowtrace/telemetry';
import { SpanStatusCode } from '@opentelemetry/api';
import type { FinishedRun } from '../store/types.ts';

/**
 * Emits a finished run's `invoke_workflow` span. The API chose its ids at submission; the process that
 * moves the run to a terminal status (a worker, or the API on cancel) records it, covering submission to
 * terminal status.
 */
export class RunFinalizer {
  readonly #spans: DeferredSpanEmitter;

  constructor(deps: { deferredSpans: DeferredSpanEmitter }) {
    this.#spans = deps.deferredSpans;
  }

  finished(run: FinishedRun, workflow: { name: string; version?: number }): void {
    try {
      this.#spans.emit({
        name: `invoke_workflow ${workflow.name}`,
        traceId: run.traceId,
        spanId: run.spanId,
        ...(run.parentSpanId ? { parentSpanId: run.parentSpanId } : {}),
        traceFlags: run.traceFlags,
        ...(run.traceState ? { traceState: run.traceState } : {}),
        startTime: run.createdAt,
        endTime: run.finishedAt,
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
}
