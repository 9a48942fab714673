import type { AgentStepRecord, ExecutionLedger, ModelCallRecord } from '@flowtrace/workflow';
import { isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api';
import type { LedgerEntries } from '../store/types.ts';

/**
 * Collects an attempt's model calls and agent steps, each stamped with the span active when it was
 * recorded (the `chat` or `invoke_agent` span), and hands them to the transaction that records the
 * attempt's outcome: one write, and none at all for an attempt that never finishes.
 */
export class BufferedLedger implements ExecutionLedger {
  readonly #fallback: SpanContext;
  readonly #onModelCall: ((call: ModelCallRecord) => void) | undefined;
  readonly entries: LedgerEntries = { modelCalls: [], agentSteps: [] };

  constructor(fallback: SpanContext, hooks: { onModelCall?: (call: ModelCallRecord) => void } = {}) {
    this.#fallback = fallback;
    this.#onModelCall = hooks.onModelCall;
  }

  recordModelCall(call: ModelCallRecord): void {
    this.entries.modelCalls.push({ record: call, ...this.#ids() });
    this.#onModelCall?.(call);
  }

  recordAgentStep(step: AgentStepRecord): void {
    this.entries.agentSteps.push({ record: step, ...this.#ids() });
  }

  #ids(): { traceId: string; spanId: string | null } {
    const active = trace.getActiveSpan()?.spanContext();
    const ctx = active && isSpanContextValid(active) ? active : this.#fallback;
    return { traceId: ctx.traceId, spanId: isSpanContextValid(ctx) ? ctx.spanId : null };
  }
}
