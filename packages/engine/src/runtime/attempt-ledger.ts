import type {
  AgentStepRecord,
  ExecutionLedger,
  ModelCallEstimate,
  ModelCallRecord,
  ModelCallReservation,
} from '@flowtrace/workflow';
import { isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api';
import { MeteredCalls, type MeteredCallsDeps } from '../governance/metered-calls.ts';
import type { LedgerEntries } from '../store/types.ts';

/**
 * The ledger of one node attempt. Model calls are written to `model_cost_logs` as soon as the provider has
 * answered (and reserved first against the tenant's budgets), so a worker that dies mid-node loses none
 * of the calls it paid for. Agent steps are collected and written with the attempt's outcome. Each record
 * is stamped with the span active when it was recorded (the `chat` or `execute_tool` span).
 */
export class AttemptLedger implements ExecutionLedger {
  readonly #fallback: SpanContext;
  readonly #calls: MeteredCalls;
  readonly #onModelCall: ((call: ModelCallRecord) => void) | undefined;
  /**
   * For the outcome's transaction: agent steps to write, and the model calls already written (marked
   * `written`, for the attempt's usage summary).
   */
  readonly entries: LedgerEntries = { modelCalls: [], agentSteps: [] };

  constructor(
    deps: MeteredCallsDeps,
    ref: { tenantId: string; runId: string; nodeId: string; attempt: number; fallback: SpanContext },
    hooks: { onModelCall?: (call: ModelCallRecord) => void } = {},
  ) {
    this.#fallback = ref.fallback;
    this.#onModelCall = hooks.onModelCall;
    this.#calls = new MeteredCalls(deps, {
      tenantId: ref.tenantId,
      owner: { kind: 'node', runId: ref.runId, nodeId: ref.nodeId, attempt: ref.attempt },
      correlation: () => this.#ids(),
    });
  }

  reserveModelCall(estimate: ModelCallEstimate): Promise<ModelCallReservation | null> {
    return this.#calls.reserveModelCall(estimate);
  }

  releaseModelCall(reservation: ModelCallReservation, outcome: 'failed' | 'abandoned'): Promise<void> {
    return this.#calls.releaseModelCall(reservation, outcome);
  }

  async recordModelCall(call: ModelCallRecord, reservation?: ModelCallReservation | null): Promise<void> {
    await this.#calls.recordModelCall(call, reservation);
    this.entries.modelCalls.push({ record: call, ...this.#ids(), written: true });
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
